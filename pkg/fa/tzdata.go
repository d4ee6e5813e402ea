package fa

// Embed the time-zone database so invoice dates are computed in Europe/Warsaw even
// on hosts without /usr/share/zoneinfo.
import _ "time/tzdata"

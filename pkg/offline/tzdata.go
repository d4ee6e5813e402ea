package offline

// Embed the time-zone database so Europe/Warsaw loads even on machines without
// system tzdata: every deadline is counted in Warsaw days.
import _ "time/tzdata"

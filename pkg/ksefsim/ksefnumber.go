package ksefsim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Warsaw must load on any host
)

// polishTime returns Europe/Warsaw; KSeF numbers and invoicing dates use Polish dates.
func polishTime() *time.Location {
	loc, err := time.LoadLocation("Europe/Warsaw")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
}

// newKSeFNumber builds a 35-character KSeF number NIP-YYYYMMDD-XXXXXXXXXXXX-CC
// (faktury/numer-ksef.md): the seller NIP, the Polish date of acceptance, 12
// upper-case hex digits of technical part (unique within the simulator) and the
// CRC-8 (poly 0x07, init 0) of the first 32 characters. Caller holds the lock.
func (s *Server) newKSeFNumber(nip string, at time.Time) string {
	for {
		var b [6]byte
		_, _ = rand.Read(b[:])
		head := fmt.Sprintf("%s-%s-%s", nip, at.In(s.loc).Format("20060102"), strings.ToUpper(hex.EncodeToString(b[:])))
		n := fmt.Sprintf("%s-%02X", head, crc8([]byte(head)))
		if _, taken := s.st.sessions.byKSeF[n]; !taken {
			return n
		}
	}
}

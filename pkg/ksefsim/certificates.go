package ksefsim

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ksefpl/ksefpl/internal/lazyre"
	"github.com/ksefpl/ksefpl/pkg/kcert"
)

// Exception codes of the /certificates endpoints (open-api 400 descriptions,
// research §8.3 "25001–25011").
const (
	codeNoEnrollmentData   = 25001
	codeNoEnrollment       = 25002
	codeCSRSubject         = 25003
	codeCSRFormat          = 25004
	codeEnrollmentNotFound = 25005
	codeEnrollmentLimit    = 25006
	codeCertNotFound       = 25008
	codeCertNotRevocable   = 25009
	codeCSRKey             = 25010
	codeCSRAlgorithm       = 25011
	descNoEnrollmentData   = "Brak możliwości pobrania danych do CSR dla wykorzystanego sposobu uwierzytelnienia."
	descNoEnrollment       = "Brak możliwości złożenia wniosku certyfikacyjnego dla wykorzystanego sposobu uwierzytelnienia."
	descCSRSubject         = "Dane w CSR nie zgadzają się z danymi w użytym wektorze uwierzytelniającym."
	descCSRFormat          = "Niepoprawny format CSR lub niepoprawny podpis CSR."
	descEnrollmentNotFound = "Wniosek certyfikacyjny o podanym numerze referencyjnym nie istnieje."
	descEnrollmentLimit    = "Osiągnięto limit możliwych do złożenia wniosków certyfikacyjnych."
	descCertNotFound       = "Certyfikat o podanym numerze seryjnym nie istnieje."
	descCertNotRevocable   = "Nie można odwołać wskazanego certyfikatu, ponieważ jest już odwołany, zablokowany lub nieważny."
	descCSRKey             = "Nieprawidłowy typ lub długość klucza."
	descCSRAlgorithm       = "Nieprawidłowy algorytm podpisu CSR."
)

// Enrolment statuses (CertificateEnrollmentStatusResponse.status).
const (
	enrollInProgress     = 100
	enrollDone           = 200
	enrollRejected       = 400
	descEnrollInProgress = "Wniosek przyjęty do realizacji"
	descEnrollDone       = "Wniosek obsłużony (certyfikat wygenerowany)"
	descEnrollRejected   = "Wniosek odrzucony"
	detKeyCertified      = "Klucz publiczny został już certyfikowany przez inny podmiot."
	detCertLimit         = "Osiągnięto dopuszczalny limit posiadanych certyfikatów."
	enrollmentRetention  = 30 * 24 * time.Hour
)

// Wire shapes (open-api components.schemas).
type (
	certificateLimit struct {
		Remaining int `json:"remaining"`
		Limit     int `json:"limit"`
	}
	certificateLimitsResponse struct {
		CanRequest  bool             `json:"canRequest"`
		Enrollment  certificateLimit `json:"enrollment"`
		Certificate certificateLimit `json:"certificate"`
	}
	enrollmentDataResponse struct {
		CommonName             string `json:"commonName"`
		CountryName            string `json:"countryName"`
		GivenName              string `json:"givenName,omitempty"`
		Surname                string `json:"surname,omitempty"`
		SerialNumber           string `json:"serialNumber,omitempty"`
		UniqueIdentifier       string `json:"uniqueIdentifier,omitempty"`
		OrganizationName       string `json:"organizationName,omitempty"`
		OrganizationIdentifier string `json:"organizationIdentifier,omitempty"`
	}
	enrollRequest struct {
		CertificateName *string `json:"certificateName"`
		CertificateType *string `json:"certificateType"`
		CSR             *string `json:"csr"`
		ValidFrom       *string `json:"validFrom"`
	}
	enrollResponse struct {
		ReferenceNumber string `json:"referenceNumber"`
		Timestamp       string `json:"timestamp"`
	}
	enrollmentStatusResponse struct {
		RequestDate             string     `json:"requestDate"`
		Status                  statusInfo `json:"status"`
		CertificateSerialNumber *string    `json:"certificateSerialNumber,omitempty"`
	}
	retrieveRequest struct {
		CertificateSerialNumbers *[]string `json:"certificateSerialNumbers"`
	}
	retrievedCertificate struct {
		Certificate             string `json:"certificate"`
		CertificateName         string `json:"certificateName"`
		CertificateSerialNumber string `json:"certificateSerialNumber"`
		CertificateType         string `json:"certificateType"`
	}
	retrieveResponse struct {
		Certificates []retrievedCertificate `json:"certificates"`
	}
	queryCertificatesRequest struct {
		CertificateSerialNumber *string `json:"certificateSerialNumber"`
		Name                    *string `json:"name"`
		Type                    *string `json:"type"`
		Status                  *string `json:"status"`
		ExpiresAfter            *string `json:"expiresAfter"`
	}
	certificateListItem struct {
		CertificateSerialNumber string    `json:"certificateSerialNumber"`
		Name                    string    `json:"name"`
		Type                    string    `json:"type"`
		CommonName              string    `json:"commonName"`
		Status                  string    `json:"status"`
		SubjectIdentifier       subjectID `json:"subjectIdentifier"`
		ValidFrom               string    `json:"validFrom"`
		ValidTo                 string    `json:"validTo"`
		LastUseDate             *string   `json:"lastUseDate,omitempty"`
		RequestDate             string    `json:"requestDate"`
	}
	queryCertificatesResponse struct {
		Certificates []certificateListItem `json:"certificates"`
		HasMore      bool                  `json:"hasMore"`
	}
	revokeCertificateRequest struct {
		RevocationReason *string `json:"revocationReason"`
	}
)

// certificateNamePattern is EnrollCertificateRequest.certificateName's pattern.
var certificateNamePattern = lazyre.New(`^[a-zA-Z0-9_\- ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]+$`)

// certCaller is the authentication behind an access token, as the certificate
// endpoints see it.
type certCaller struct {
	subject subjectID
	xades   bool
	cert    *x509.Certificate
}

// requireCertCaller checks the access token and returns who is behind it.
func (s *Server) requireCertCaller(w http.ResponseWriter, r *http.Request) (certCaller, bool) {
	c, ok := s.requireBearer(w, r, tokenTypeContext)
	if !ok {
		return certCaller{}, false
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	op := s.st.auth.ops[c.OperationRef]
	if op == nil {
		return certCaller{subject: subjectID{Type: subjectNip, Value: c.ContextValue}}, true
	}
	return certCaller{subject: op.subject, xades: op.cert != nil, cert: op.cert}, true
}

// writeAuthMethodNotAllowed answers 403 auth-method-not-allowed (ForbiddenProblemDetails).
func (s *Server) writeAuthMethodNotAllowed(w http.ResponseWriter, r *http.Request, detail string) {
	writeJSON(w, http.StatusForbidden, contentTypeProblem, forbiddenProblem{
		Title: "Forbidden", Status: http.StatusForbidden, Instance: r.URL.Path, ReasonCode: "auth-method-not-allowed",
		Detail: detail, Security: map[string]any{"authenticationMethodCategory": "Token"},
		Timestamp: formatTime(s.now()), TraceID: randomHex(16),
	})
}

// limitsLocked computes CertificateLimitsResponse for a subject. Caller holds the lock.
func (s *Server) limitsLocked(id subjectID, now time.Time) certificateLimitsResponse {
	enrollLimit, certLimit := s.limitsOf(id)
	out := certificateLimitsResponse{
		Enrollment:  certificateLimit{Limit: enrollLimit, Remaining: max(0, enrollLimit-s.st.certs.requests[id.key()])},
		Certificate: certificateLimit{Limit: certLimit, Remaining: max(0, certLimit-s.activeCertificates(id, now))},
	}
	out.CanRequest = out.Enrollment.Remaining > 0 && out.Certificate.Remaining > 0
	return out
}

// handleCertificateLimits serves GET /certificates/limits.
func (s *Server) handleCertificateLimits(w http.ResponseWriter, r *http.Request) {
	cc, ok := s.requireCertCaller(w, r)
	if !ok {
		return
	}
	s.st.mu.Lock()
	out := s.limitsLocked(cc.subject, s.now())
	s.st.mu.Unlock()
	writeOK(w, http.StatusOK, out)
}

// enrollmentData is what GET /certificates/enrollments/data answers for a certificate.
func enrollmentData(c *x509.Certificate) kcert.EnrollmentData { return kcert.EnrollmentDataOf(c) }

// sameSubject compares enrolment data; given names compare as one space-joined
// string, since the API carries givenName as one string.
func sameSubject(a, b kcert.EnrollmentData) bool {
	ga, gb := strings.Join(a.GivenNames, " "), strings.Join(b.GivenNames, " ")
	a.GivenNames, b.GivenNames = nil, nil
	return ga == gb && a.Equal(b)
}

// handleEnrollmentData serves GET /certificates/enrollments/data: the subject of the
// certificate the caller authenticated with; refused (25001) after a KSeF token.
func (s *Server) handleEnrollmentData(w http.ResponseWriter, r *http.Request) {
	cc, ok := s.requireCertCaller(w, r)
	if !ok {
		return
	}
	if !cc.xades {
		s.writeBadRequest(w, r, apiError{Code: codeNoEnrollmentData, Description: descNoEnrollmentData,
			Details: []string{"Dane do wniosku certyfikacyjnego są dostępne wyłącznie po uwierzytelnieniu podpisem XAdES."}})
		return
	}
	d := enrollmentData(cc.cert)
	writeOK(w, http.StatusOK, enrollmentDataResponse{
		CommonName: d.CommonName, CountryName: d.CountryName, GivenName: strings.Join(d.GivenNames, " "),
		Surname: d.Surname, SerialNumber: d.SerialNumber, UniqueIdentifier: d.UniqueIdentifier,
		OrganizationName: d.OrganizationName, OrganizationIdentifier: d.OrganizationIdentifier,
	})
}

// Signature algorithms KSeF accepts for a CSR: RSA PKCS#1 v1.5, RSA-PSS and ECDSA
// with SHA-1/256/384/512 (certyfikaty-KSeF.md §3).
var csrAlgorithms = []x509.SignatureAlgorithm{
	x509.SHA1WithRSA, x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA,
	x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS,
	x509.ECDSAWithSHA1, x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512,
}

// validateEnrollment checks an enrolment request; on failure it returns the error.
func validateEnrollment(req *enrollRequest, data kcert.EnrollmentData) (csr []byte, validFrom time.Time, fail *apiError) {
	var d []string
	switch {
	case req.CertificateName == nil || *req.CertificateName == "":
		d = append(d, "Pole 'certificateName' jest wymagane.")
	case utf8.RuneCountInString(*req.CertificateName) < 5 || utf8.RuneCountInString(*req.CertificateName) > 100:
		d = append(d, "Pole 'certificateName' musi mieć od 5 do 100 znaków.")
	case !certificateNamePattern.MatchString(*req.CertificateName):
		d = append(d, "Pole 'certificateName' może zawierać wyłącznie litery, cyfry, spacje, '_' i '-'.")
	}
	switch {
	case req.CertificateType == nil || *req.CertificateType == "":
		d = append(d, "Pole 'certificateType' jest wymagane.")
	case *req.CertificateType != certTypeAuthentication && *req.CertificateType != certTypeOffline:
		d = append(d, fmt.Sprintf("Wartość '%s' pola 'certificateType' jest niedozwolona (dozwolone: Authentication, Offline).", *req.CertificateType))
	}
	if req.ValidFrom != nil && *req.ValidFrom != "" {
		t, err := time.Parse(time.RFC3339Nano, *req.ValidFrom)
		if err != nil {
			d = append(d, fmt.Sprintf("Pole 'validFrom' ma nieprawidłowy format daty (otrzymano '%s').", *req.ValidFrom))
		}
		validFrom = t
	}
	switch {
	case req.CSR == nil || *req.CSR == "":
		d = append(d, "Pole 'csr' jest wymagane.")
	default:
		b, err := base64.StdEncoding.DecodeString(*req.CSR)
		if err != nil {
			d = append(d, "Pole 'csr' nie jest poprawnym ciągiem Base64.")
		}
		csr = b
	}
	if len(d) > 0 {
		e := validationError(d...)
		return nil, time.Time{}, &e
	}
	parsed, err := x509.ParseCertificateRequest(csr)
	if err != nil {
		return nil, time.Time{}, &apiError{Code: codeCSRFormat, Description: descCSRFormat, Details: []string{"Nie można odczytać wniosku PKCS#10: " + err.Error()}}
	}
	if !slices.Contains(csrAlgorithms, parsed.SignatureAlgorithm) {
		return nil, time.Time{}, &apiError{Code: codeCSRAlgorithm, Description: descCSRAlgorithm,
			Details: []string{fmt.Sprintf("Algorytm podpisu %s jest niedozwolony (dozwolone: RSA PKCS#1 v1.5, RSA-PSS, ECDSA z SHA-1/256/384/512).", parsed.SignatureAlgorithm)}}
	}
	if _, err := kcert.CheckCSR(csr); err != nil {
		var ke *kcert.KeyError
		if errors.As(err, &ke) {
			return nil, time.Time{}, &apiError{Code: codeCSRKey, Description: descCSRKey,
				Details: []string{fmt.Sprintf("Klucz %s jest niedozwolony: wymagany jest klucz RSA 2048 bitów lub EC P-256.", ke.Key)}}
		}
		return nil, time.Time{}, &apiError{Code: codeCSRFormat, Description: descCSRFormat, Details: []string{"Podpis wniosku PKCS#10 jest nieprawidłowy."}}
	}
	subject, err := kcert.SubjectOfCSR(csr)
	if err != nil || !sameSubject(subject, data) {
		detail := "Podmiot wniosku różni się od danych zwróconych przez /certificates/enrollments/data."
		if err != nil {
			detail = "Podmiot wniosku zawiera atrybuty spoza danych do wniosku certyfikacyjnego."
		}
		return nil, time.Time{}, &apiError{Code: codeCSRSubject, Description: descCSRSubject, Details: []string{detail}}
	}
	return csr, validFrom, nil
}

// handleEnroll serves POST /certificates/enrollments (202). What the contract lists
// as 400 is checked here; issuing happens when the status is read.
func (s *Server) handleEnroll(w http.ResponseWriter, r *http.Request) {
	cc, ok := s.requireCertCaller(w, r)
	if !ok {
		return
	}
	if !cc.xades {
		s.writeBadRequest(w, r, apiError{Code: codeNoEnrollment, Description: descNoEnrollment,
			Details: []string{"Wniosek o certyfikat KSeF można złożyć wyłącznie po uwierzytelnieniu podpisem XAdES."}})
		return
	}
	var req enrollRequest
	if !s.decodeRequest(w, r, &req, "EnrollCertificateRequest") {
		return
	}
	csr, validFrom, fail := validateEnrollment(&req, enrollmentData(cc.cert))
	if fail != nil {
		s.writeBadRequest(w, r, *fail)
		return
	}
	now := s.now()
	s.st.mu.Lock()
	if limit, _ := s.limitsOf(cc.subject); s.st.certs.requests[cc.subject.key()] >= limit {
		s.unlockBadRequest(w, r, apiError{Code: codeEnrollmentLimit, Description: descEnrollmentLimit,
			Details: []string{fmt.Sprintf("Limit wniosków certyfikacyjnych podmiotu wynosi %d.", limit)}})
		return
	}
	s.st.certs.requests[cc.subject.key()]++
	en := &enrollment{
		ref: newRefNumber(now, infixEnroll), owner: cc.subject, requestDate: now,
		name: *req.CertificateName, typ: *req.CertificateType, csr: csr, validFrom: validFrom,
	}
	s.st.certs.enrollments[en.ref] = en
	s.st.mu.Unlock()
	writeOK(w, http.StatusAccepted, enrollResponse{ReferenceNumber: en.ref, Timestamp: formatTime(now)})
}

// enrollmentPolls is the number of status reads that see 100.
func (s *Server) enrollmentPolls() int {
	switch {
	case s.cfg.EnrollmentPolls < 0:
		return 0
	case s.cfg.EnrollmentPolls == 0:
		return 1
	}
	return s.cfg.EnrollmentPolls
}

// processEnrollment issues the certificate of an enrolment or rejects it. Caller
// holds the lock.
func (s *Server) processEnrollment(en *enrollment, now time.Time) {
	reject := func(d string) {
		en.final = &statusInfo{Code: enrollRejected, Description: descEnrollRejected, Details: []string{d}}
	}
	csr, err := x509.ParseCertificateRequest(en.csr)
	if err != nil { // checked at submission
		reject("Nie można odczytać wniosku PKCS#10.")
		return
	}
	keyOwner, certified := s.st.certs.keys[spkiKey(csr.PublicKey)]
	if certified && keyOwner != en.owner.key() {
		reject(detKeyCertified)
		return
	}
	if _, limit := s.limitsOf(en.owner); s.activeCertificates(en.owner, now) >= limit {
		reject(detCertLimit)
		return
	}
	usage := x509.KeyUsageDigitalSignature
	if en.typ == certTypeOffline {
		usage = x509.KeyUsageContentCommitment
	}
	from := en.validFrom
	if from.IsZero() {
		from = now
	}
	var c *x509.Certificate
	for c == nil || s.st.certs.bySerial[kcert.SerialHex(c)] != nil {
		c, err = kcert.IssueFromCSR(en.csr, kcert.IssueOptions{
			Issuer: s.st.certs.ca, KeyUsage: usage, NotBefore: from, NotAfter: from.AddDate(ksefCertValidity, 0, 0),
		})
		if err != nil {
			en.final = &statusInfo{Code: 500, Description: "Nieznany błąd", Details: []string{err.Error()}}
			return
		}
	}
	kc := &ksefCert{serial: kcert.SerialHex(c), name: en.name, typ: en.typ, cert: c, owner: en.owner, requestDate: en.requestDate}
	s.st.certs.bySerial[kc.serial] = kc
	s.st.certs.keys[spkiKey(c.PublicKey)] = en.owner.key()
	en.serial = kc.serial
	en.final = &statusInfo{Code: enrollDone, Description: descEnrollDone}
}

// handleEnrollmentStatus serves GET /certificates/enrollments/{referenceNumber}.
func (s *Server) handleEnrollmentStatus(w http.ResponseWriter, r *http.Request) {
	cc, ok := s.requireCertCaller(w, r)
	if !ok {
		return
	}
	ref := r.PathValue("referenceNumber")
	now := s.now()
	s.st.mu.Lock()
	en := s.st.certs.enrollments[ref]
	if en == nil || en.owner != cc.subject {
		s.unlockBadRequest(w, r, apiError{Code: codeEnrollmentNotFound, Description: descEnrollmentNotFound,
			Details: []string{"Wniosek certyfikacyjny " + ref + " nie został odnaleziony."}})
		return
	}
	if now.Sub(en.requestDate) > enrollmentRetention {
		s.st.mu.Unlock()
		writeJSON(w, http.StatusGone, contentTypeProblem, simpleProblem{
			Title: "Gone", Status: http.StatusGone, Instance: r.URL.Path,
			Detail: "Operacja wygasła i nie jest już dostępna.", Timestamp: formatTime(now), TraceID: randomHex(16),
		})
		return
	}
	out := enrollmentStatusResponse{RequestDate: formatTime(en.requestDate)}
	switch {
	case en.final == nil && en.polls < s.enrollmentPolls():
		en.polls++
		out.Status = statusInfo{Code: enrollInProgress, Description: descEnrollInProgress}
	default:
		if en.final == nil {
			s.processEnrollment(en, now)
		}
		out.Status = *en.final
		if en.serial != "" {
			serial := en.serial
			out.CertificateSerialNumber = &serial
		}
	}
	s.st.mu.Unlock()
	writeOK(w, http.StatusOK, out)
}

// handleRetrieveCertificates serves POST /certificates/retrieve: the caller's KSeF
// certificates among the serial numbers (unknown ones are left out).
func (s *Server) handleRetrieveCertificates(w http.ResponseWriter, r *http.Request) {
	cc, ok := s.requireCertCaller(w, r)
	if !ok {
		return
	}
	var req retrieveRequest
	if !s.decodeRequest(w, r, &req, "RetrieveCertificatesRequest") {
		return
	}
	switch {
	case req.CertificateSerialNumbers == nil || len(*req.CertificateSerialNumbers) == 0:
		s.writeBadRequest(w, r, validationError("Pole 'certificateSerialNumbers' jest wymagane i musi zawierać od 1 do 10 numerów seryjnych."))
		return
	case len(*req.CertificateSerialNumbers) > 10:
		s.writeBadRequest(w, r, validationError("Pole 'certificateSerialNumbers' może zawierać najwyżej 10 numerów seryjnych."))
		return
	}
	out := retrieveResponse{Certificates: []retrievedCertificate{}}
	s.st.mu.Lock()
	for _, sn := range *req.CertificateSerialNumbers {
		n, err := normSerial(sn)
		if err != nil {
			continue
		}
		if kc := s.st.certs.bySerial[n]; kc != nil && kc.owner == cc.subject {
			out.Certificates = append(out.Certificates, retrievedCertificate{
				Certificate: base64.StdEncoding.EncodeToString(kc.cert.Raw), CertificateName: kc.name,
				CertificateSerialNumber: kc.serial, CertificateType: kc.typ,
			})
		}
	}
	s.st.mu.Unlock()
	writeOK(w, http.StatusOK, out)
}

// offsetPageParams reads pageSize (lo..hi, default lo) and pageOffset (>= 0, default 0).
func (s *Server) offsetPageParams(w http.ResponseWriter, r *http.Request, lo, hi int) (size, offset int, ok bool) {
	q := r.URL.Query()
	size, offset = lo, 0
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			s.writeBadRequest(w, r, validationError(fmt.Sprintf("Parametr 'pageSize' musi być liczbą z zakresu %d-%d.", lo, hi)))
			return 0, 0, false
		}
		size = n
	}
	if v := q.Get("pageOffset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.writeBadRequest(w, r, validationError("Parametr 'pageOffset' musi być liczbą nieujemną."))
			return 0, 0, false
		}
		offset = n
	}
	return size, offset, true
}

// validateQuery checks the filters of POST /certificates/query.
func validateQuery(q *queryCertificatesRequest) (expiresAfter time.Time, details []string) {
	if q.Type != nil && *q.Type != certTypeAuthentication && *q.Type != certTypeOffline {
		details = append(details, fmt.Sprintf("Wartość '%s' pola 'type' jest niedozwolona (dozwolone: Authentication, Offline).", *q.Type))
	}
	if q.Status != nil && !slices.Contains([]string{certStatusActive, "Blocked", certStatusRevoked, certStatusExpired}, *q.Status) {
		details = append(details, fmt.Sprintf("Wartość '%s' pola 'status' jest niedozwolona (dozwolone: Active, Blocked, Revoked, Expired).", *q.Status))
	}
	if q.ExpiresAfter != nil {
		t, err := time.Parse(time.RFC3339Nano, *q.ExpiresAfter)
		if err != nil {
			details = append(details, fmt.Sprintf("Pole 'expiresAfter' ma nieprawidłowy format daty (otrzymano '%s').", *q.ExpiresAfter))
		}
		expiresAfter = t
	}
	return expiresAfter, details
}

// handleQueryCertificates serves POST /certificates/query: the caller's KSeF
// certificates, filtered, newest request first, one page.
func (s *Server) handleQueryCertificates(w http.ResponseWriter, r *http.Request) {
	cc, ok := s.requireCertCaller(w, r)
	if !ok {
		return
	}
	size, offset, ok := s.offsetPageParams(w, r, 10, 50)
	if !ok {
		return
	}
	var q queryCertificatesRequest
	if !s.decodeOptional(w, r, &q, "QueryCertificatesRequest") {
		return
	}
	expiresAfter, details := validateQuery(&q)
	if len(details) > 0 {
		s.writeBadRequest(w, r, validationError(details...))
		return
	}
	now := s.now()
	var items []certificateListItem
	var dates []time.Time
	s.st.mu.Lock()
	for _, kc := range s.st.certs.bySerial {
		status := s.certStatus(kc, now)
		switch {
		case kc.owner != cc.subject,
			q.CertificateSerialNumber != nil && !strings.EqualFold(*q.CertificateSerialNumber, kc.serial),
			q.Name != nil && !strings.Contains(strings.ToLower(kc.name), strings.ToLower(*q.Name)),
			q.Type != nil && *q.Type != kc.typ,
			q.Status != nil && *q.Status != status,
			q.ExpiresAfter != nil && !kc.cert.NotAfter.After(expiresAfter):
			continue
		}
		it := certificateListItem{
			CertificateSerialNumber: kc.serial, Name: kc.name, Type: kc.typ, CommonName: kc.cert.Subject.CommonName,
			Status: status, SubjectIdentifier: kc.owner, ValidFrom: formatTime(kc.cert.NotBefore), ValidTo: formatTime(kc.cert.NotAfter),
			RequestDate: formatTime(kc.requestDate),
		}
		if !kc.lastUse.IsZero() {
			lu := formatTime(kc.lastUse)
			it.LastUseDate = &lu
		}
		items = append(items, it)
		dates = append(dates, kc.requestDate)
	}
	s.st.mu.Unlock()
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if c := dates[b].Compare(dates[a]); c != 0 {
			return c
		}
		return strings.Compare(items[a].CertificateSerialNumber, items[b].CertificateSerialNumber)
	})
	out := queryCertificatesResponse{Certificates: []certificateListItem{}}
	for i := offset * size; i < len(idx) && i < (offset+1)*size; i++ {
		out.Certificates = append(out.Certificates, items[idx[i]])
	}
	out.HasMore = (offset+1)*size < len(idx)
	writeOK(w, http.StatusOK, out)
}

// handleRevokeCertificate serves POST /certificates/{certificateSerialNumber}/revoke:
// the owner revokes one of its KSeF certificates (not after a KSeF token).
func (s *Server) handleRevokeCertificate(w http.ResponseWriter, r *http.Request) {
	cc, ok := s.requireCertCaller(w, r)
	if !ok {
		return
	}
	var req revokeCertificateRequest
	if !s.decodeOptional(w, r, &req, "RevokeCertificateRequest") {
		return
	}
	if !cc.xades {
		s.writeAuthMethodNotAllowed(w, r, "Operacja nie jest dostępna dla podmiotu uwierzytelnionego tokenem KSeF.")
		return
	}
	if req.RevocationReason != nil && !slices.Contains([]string{"Unspecified", "Superseded", "KeyCompromise"}, *req.RevocationReason) {
		s.writeBadRequest(w, r, validationError(fmt.Sprintf("Wartość '%s' pola 'revocationReason' jest niedozwolona (dozwolone: Unspecified, Superseded, KeyCompromise).", *req.RevocationReason)))
		return
	}
	serial := r.PathValue("certificateSerialNumber")
	n, _ := normSerial(serial)
	now := s.now()
	s.st.mu.Lock()
	kc := s.st.certs.bySerial[n]
	switch {
	case kc == nil || kc.owner != cc.subject:
		s.unlockBadRequest(w, r, apiError{Code: codeCertNotFound, Description: descCertNotFound,
			Details: []string{"Certyfikat o numerze seryjnym " + serial + " nie został odnaleziony."}})
		return
	case s.certStatus(kc, now) != certStatusActive:
		status := s.certStatus(kc, now)
		s.unlockBadRequest(w, r, apiError{Code: codeCertNotRevocable, Description: descCertNotRevocable,
			Details: []string{"Certyfikat " + kc.serial + " ma status " + status + "."}})
		return
	}
	s.st.certs.revoked[kc.serial] = true
	s.st.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

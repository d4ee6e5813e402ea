package fa

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/ksefpl/ksefpl/internal/lazyre"
	"github.com/ksefpl/ksefpl/pkg/nip"
)

// normInput is an Input after validation, with parsed values.
type normInput struct {
	memo        bool
	number      string
	issued      time.Time // issue date (midnight, Europe/Warsaw)
	saleDate    time.Time // zero when not given
	currency    string
	manualRate  decimal.Decimal
	hasManual   bool
	buyer       normBuyer
	lines       []normLine
	grandTotal  decimal.Decimal
	order       string
	exemption   string
	payment     *normPayment
	origNumber  string
	origKSeF    string
	origIssued  time.Time // zero when not given
	reason      string
	hasZw       bool
	hasWDT      bool
	reverseChrg bool
	gross       bool   // line prices are gross (P_9B/P_11A; VAT from each rate's gross total)
	split       string // split_payment: "auto", "true" or "false"
	receipt     *normReceipt
	margin      string // margin_scheme keyword, "" when not used
}

type normBuyer struct {
	name  string
	id    DaneNabywcy
	addr  Adres
	email string
	eu    bool // identified by an EU VAT number (KodUE)
	pl    bool // identified by a Polish NIP
}

type normLine struct {
	name, sku, unit string
	qty, price      decimal.Decimal // price is net, or gross in a gross document
	discount        decimal.Decimal
	value           decimal.Decimal // qty*price-discount rounded to the grosz, positive: net, or gross in a gross document
	code            string          // FA(3) rate code: "23", "8", "0 KR", "zw", …, codeOSS or codeMargin
	ossPct          decimal.Decimal // the destination country's VAT rate of an OSS line
	annex15         bool
	gtu, procedure  string
}

type normPayment struct {
	forma, opis string
	due         time.Time
	paid        bool
	paidAt      time.Time
	bank        *normBank
	partial     []normPartial
}

// taxCodes maps the accepted input tax_code spellings (lower case) to FA(3) codes.
var taxCodes = map[string]string{
	"zw": "zw", "np i": "np I", "np ii": "np II", "oo": "oo",
	"0 kr": "0 KR", "0 wdt": "0 WDT", "0 ex": "0 EX",
}

// percentCodes lists the VAT percentages a line may carry without a tax_code.
var percentCodes = map[string]bool{"23": true, "22": true, "8": true, "7": true, "5": true, "4": true, "3": true}

var (
	reVatUE = lazyre.New(`^(\d|[A-Z]|\+|\*){1,12}$`)
	reKSeF  = lazyre.New(`^([1-9]((\d[1-9])|([1-9]\d))\d{7}|M\d{9}|[A-Z]{3}\d{7})-(20[2-9][0-9]|2[1-9][0-9]{2}|[3-9][0-9]{3})(0[1-9]|1[0-2])(0[1-9]|[1-2][0-9]|3[0-1])-([0-9A-F]{6})-?([0-9A-F]{6})-([0-9A-F]{2})$`)
	reEmail = lazyre.New(`^.+@.+$`)
)

// paymentForms maps Magento payment method codes to FormaPlatnosci (TFormaPlatnosci):
// 1 cash, 2 card, 3 voucher, 4 cheque, 5 credit, 6 transfer, 7 mobile.
var paymentForms = map[string]string{
	"banktransfer": "6", "cashondelivery": "1", "checkmo": "4", "purchaseorder": "5",
	"braintree": "2", "payflowpro": "2", "authorizenet_acceptjs": "2", "stripe_payments": "2",
	"blik": "7",
}

// collector accumulates InputErrors. A field in bad (or under it) already has a
// problem that makes further checks of it meaningless, and is not reported again.
type collector struct {
	errs InputErrors
	bad  map[string]bool
}

func (c *collector) add(field, format string, args ...any) {
	if c.suppressed(field) {
		return
	}
	c.errs = append(c.errs, &InputError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

// suppressed reports whether field or one of its parents is in c.bad.
func (c *collector) suppressed(field string) bool {
	if len(c.bad) == 0 {
		return false
	}
	for f := field; ; {
		if c.bad[f] {
			return true
		}
		i := strings.LastIndexAny(f, ".[")
		if i <= 0 {
			return false
		}
		f = f[:i]
	}
}

// markBad records a problem with field and suppresses further ones about it.
func (c *collector) markBad(field string) {
	if c.bad == nil {
		c.bad = map[string]bool{}
	}
	c.bad[field] = true
}

// controls reports every string of an input value (strings, Num text, Lines
// elements, nested objects and items) that holds a control character, by its
// JSON path: such text would not reach KSeF as given (XML cannot carry C0
// controls; encoding/xml writes U+FFFD instead), so the invoice KSeF receives
// would differ from the document that was queued.
func (c *collector) controls(v reflect.Value, path string) {
	t := v.Type()
	switch {
	case t == linesType:
		for i := range v.Len() {
			p := path
			if v.Len() > 1 {
				p = fmt.Sprintf("%s[%d]", path, i)
			}
			c.control(p, v.Index(i).String())
		}
		return
	}
	switch t.Kind() {
	case reflect.String:
		c.control(path, v.String())
	case reflect.Pointer:
		if !v.IsNil() {
			c.controls(v.Elem(), path)
		}
	case reflect.Slice:
		for i := range v.Len() {
			c.controls(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Struct:
		for _, f := range jsonFieldsOf(t) {
			p := f.name
			if path != "" {
				p = path + "." + f.name
			}
			c.controls(v.Field(f.index), p)
		}
	}
}

// anyControl reports whether any string in v holds a control character; it is
// the cheap test before controls builds field paths.
func anyControl(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		_, ok := firstControl(v.String())
		return ok
	case reflect.Pointer:
		return !v.IsNil() && anyControl(v.Elem())
	case reflect.Slice:
		for i := range v.Len() {
			if anyControl(v.Index(i)) {
				return true
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if anyControl(v.Field(i)) {
				return true
			}
		}
	}
	return false
}

// control reports a control character in s and marks field bad.
func (c *collector) control(field, s string) {
	if r, ok := firstControl(s); ok {
		c.add(field, "%s", controlMsg(r))
		c.markBad(field)
	}
}

// Limits of an amount's text: KSeF's amounts have at most 16 digits before the
// decimal point (TKwotowy, TIlosci); no field takes more than 8 after it, and 20
// leaves room for trailing zeros while keeping absurd values (1e400, 10000 digits)
// out of the decimal arithmetic and the messages.
const (
	maxIntDigits  = 16
	maxFracDigits = 20
	maxAmountLen  = 48
)

var reAmount = lazyre.New(`^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?)(\d+))?$`)

// amountPlain reports whether s (already matching reAmount as m) is within the
// limits, computing the digits before and after the point after any exponent.
func amountPlain(s string, m []string) bool {
	if len(s) > maxAmountLen {
		return false
	}
	intPart, frac, sign, exp := m[1], m[2], m[3], m[4]
	e := 0
	if exp != "" {
		if len(exp) > 4 {
			return false
		}
		e, _ = strconv.Atoi(exp)
		if sign == "-" {
			e = -e
		}
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	point := len(intPart) + e - (len(intPart+frac) - len(digits)) // digits before the point, after stripping leading zeros
	if digits == "" {
		return true
	}
	after := len(frac) - e
	return point <= maxIntDigits && after <= maxFracDigits
}

// dec parses a decimal field; required fields report absence.
func (c *collector) dec(field string, n Num, required bool) (decimal.Decimal, bool) {
	s := strings.TrimSpace(string(n))
	if s == "" {
		if required {
			c.add(field, "required: a decimal amount such as \"12.50\"")
		}
		return decimal.Zero, false
	}
	if strings.Contains(s, ",") && len(s) <= maxAmountLen {
		c.add(field, "%s: use a dot as the decimal separator, without thousands separators", quote(s))
		return decimal.Zero, false
	}
	m := reAmount.FindStringSubmatch(s)
	if m == nil && len(s) <= maxAmountLen {
		c.add(field, "%s is not a decimal number", quote(s))
		return decimal.Zero, false
	}
	if m == nil || !amountPlain(s, m) {
		c.add(field, "not a plain decimal amount: at most %d digits before the decimal point and %d after it, e.g. \"12.50\"", maxIntDigits, maxFracDigits)
		return decimal.Zero, false
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		c.add(field, "%s is not a decimal number", quote(s))
		return decimal.Zero, false
	}
	return d, true
}

func (c *collector) date(field, s string, required bool) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			c.add(field, "required: a date YYYY-MM-DD")
		}
		return time.Time{}
	}
	t, err := time.ParseInLocation(time.DateOnly, s, warsaw())
	if err != nil {
		c.add(field, "%s is not a date: use YYYY-MM-DD", quote(s))
		return time.Time{}
	}
	if t.Year() < 2006 || t.After(time.Date(2050, 1, 1, 0, 0, 0, 0, warsaw())) {
		c.add(field, "%s is outside the range KSeF accepts (2006-01-01 to 2050-01-01)", s)
	}
	return t
}

func (c *collector) text(field, s string, max int, required bool) string {
	s = strings.TrimSpace(s)
	if s == "" && required {
		c.add(field, "required")
	}
	if utf8.RuneCountInString(s) > max {
		c.add(field, "longer than %d characters", max)
	}
	return s
}

// normalize validates the input and returns parsed values, or every problem found.
func (in *Input) normalize() (*normInput, InputErrors) {
	c := &collector{}
	n := &normInput{}
	if v := reflect.ValueOf(in).Elem(); anyControl(v) {
		c.controls(v, "")
	}
	switch in.Type {
	case TypeInvoice:
	case TypeCreditMemo:
		n.memo = true
	case "":
		c.add("type", "required: \"invoice\" or \"creditmemo\"")
	default:
		c.add("type", "%s is not a document type: use \"invoice\" or \"creditmemo\"", quote(in.Type))
	}
	n.number = c.text("increment_id", in.IncrementID, 256, true)
	if strings.TrimSpace(in.CreatedAt) == "" {
		c.add("created_at", "required: the issue date-time, e.g. 2026-11-20T10:15:00+01:00")
	} else if t, err := parseIssued(in.CreatedAt, warsaw()); err != nil {
		c.add("created_at", "%v", err)
	} else {
		n.issued = t
		if t.Year() < 2006 || t.Year() >= 2050 {
			c.add("created_at", "issue date %s is outside the range KSeF accepts", t.Format(time.DateOnly))
		}
	}
	n.saleDate = c.date("sale_date", in.SaleDate, false)
	n.order = c.text("order_increment_id", in.OrderIncrementID, 200, false)

	n.currency = strings.ToUpper(strings.TrimSpace(in.Currency))
	switch {
	case n.currency == "":
		c.add("currency", "required: an ISO 4217 code such as PLN or EUR")
	case !currencyCodesFA3[n.currency]:
		c.add("currency", "%s is not a currency code KSeF accepts (ISO 4217, e.g. PLN, EUR, USD)", quote(in.Currency))
	}
	if r, ok := c.dec("exchange_rate", in.ExchangeRate, false); ok {
		switch {
		case n.currency == "PLN":
			c.add("exchange_rate", "must not be set for a PLN invoice")
		case !r.IsPositive():
			c.add("exchange_rate", "must be positive, got %s", r)
		case -r.Exponent() > 6:
			c.add("exchange_rate", "%s has more than 6 decimal places", r)
		default:
			n.manualRate, n.hasManual = r, true
		}
	}

	n.buyer = c.buyer(&in.Buyer)

	if len(in.Items) == 0 {
		c.add("items", "at least one item is required")
	}
	n.margin = c.marginScheme(in.MarginScheme)
	n.gross = in.PricesIncludeTax || n.margin != ""
	for _, it := range in.Items {
		if strings.TrimSpace(string(it.PriceInclTax)) != "" {
			n.gross = true
		}
	}
	for i, it := range in.Items {
		f := fmt.Sprintf("items[%d]", i)
		l := normLine{
			name: c.text(f+".name", it.Name, 512, true),
			sku:  c.text(f+".sku", it.SKU, 50, false),
			unit: c.text(f+".unit", it.Unit, 256, false),
		}
		if l.unit == "" {
			l.unit = "szt."
		}
		// A line's value is derived only from a valid qty, price and discount: a
		// problem with one of them is reported once, not again as a bad line value.
		q, qtyOK := c.dec(f+".qty", it.Qty, true)
		if qtyOK {
			switch {
			case !q.IsPositive() && n.memo:
				c.add(f+".qty", "must be positive, got %s: give refunded quantities as positive numbers; ksefpl writes the negative difference", q)
				qtyOK = false
			case !q.IsPositive():
				c.add(f+".qty", "must be positive on an invoice, got %s: refunds belong in a creditmemo document", q)
				qtyOK = false
			case -q.Exponent() > 6:
				c.add(f+".qty", "%s has more than 6 decimal places", q)
				qtyOK = false
			}
			l.qty = q
		}
		p, priceOK := c.itemPrice(f, it, in.PricesIncludeTax || n.margin != "", n.gross)
		l.price = p
		discOK := true
		if d, ok := c.dec(f+".discount_amount", it.DiscountAmount, false); ok {
			if d.IsNegative() {
				c.add(f+".discount_amount", "must not be negative, got %s", d)
				discOK = false
			}
			l.discount = d.Round(2)
		} else if strings.TrimSpace(string(it.DiscountAmount)) != "" {
			discOK = false
		}
		if qtyOK && priceOK && discOK {
			l.value = l.qty.Mul(l.price).Sub(l.discount).Round(2)
			if l.value.IsNegative() {
				c.add(f+".discount_amount", "discount %s exceeds the line value %s", l.discount, l.qty.Mul(l.price).StringFixed(2))
			}
		}
		if n.margin != "" {
			c.noRate(f, it.TaxPercent, it.TaxCode)
			l.code = codeMargin
		} else {
			l.code, l.ossPct = c.rateCode(f, it.TaxPercent, it.TaxCode)
		}
		l.annex15 = it.Annex15
		l.gtu = c.gtu(f+".gtu", it.GTU)
		l.procedure = c.procedure(f+".procedure", it.Procedure)
		if l.code == codeOSS && l.procedure == "" {
			l.procedure = "WSTO_EE"
		}
		n.lines = append(n.lines, l)
	}
	if s := in.Shipping; s != nil {
		if a, ok := c.dec("shipping.amount", s.Amount, true); ok {
			switch {
			case a.IsNegative():
				c.add("shipping.amount", "must not be negative, got %s", a)
			case a.IsPositive():
				desc := c.text("shipping.description", s.Description, 512, false)
				if desc == "" {
					desc = "Dostawa"
				}
				l := normLine{name: desc, unit: "usł.", qty: decimal.NewFromInt(1), price: a, value: a.Round(2)}
				if n.margin != "" {
					c.noRate("shipping", s.TaxPercent, s.TaxCode)
					l.code = codeMargin
				} else {
					l.code, l.ossPct = c.rateCode("shipping", s.TaxPercent, s.TaxCode)
				}
				if l.code == codeOSS {
					l.procedure = "WSTO_EE"
				}
				n.lines = append(n.lines, l)
			}
		}
	}
	for i, l := range n.lines {
		switch l.code {
		case "zw":
			n.hasZw = true
		case "0 WDT":
			n.hasWDT = true
			if !n.buyer.eu {
				c.add(lineField(i, len(in.Items)), "tax_code \"0 WDT\" (intra-EU supply) requires a buyer vat_id from another EU country")
			}
		case "oo":
			n.reverseChrg = true
			if !n.buyer.pl {
				c.add(lineField(i, len(in.Items)), "tax_code \"oo\" (domestic reverse charge) requires a buyer with a Polish NIP")
			}
		case "np II":
			n.reverseChrg = true
		case codeOSS:
			c.ossBuyer(lineField(i, len(in.Items)), n.buyer)
		}
	}
	n.exemption = c.text("exemption_basis", in.ExemptionBasis, 256, false)
	if n.hasZw && n.exemption == "" {
		c.add("exemption_basis", "required when a line has tax_code \"zw\": the legal basis of the exemption, e.g. \"art. 43 ust. 1 pkt 19 ustawy o VAT\" or \"art. 113 ust. 1 ustawy o VAT\"")
	}

	if g, ok := c.dec("grand_total", in.GrandTotal, true); ok {
		if g.IsNegative() {
			c.add("grand_total", "must not be negative, got %s (credit memos give the refunded total as a positive amount)", g)
		}
		n.grandTotal = g
	}
	if p := in.Payment; p != nil {
		np := &normPayment{}
		m := strings.ToLower(strings.TrimSpace(p.Method))
		if f, ok := paymentForms[m]; ok {
			np.forma = f
		} else if m != "" {
			np.opis = c.text("payment.method", p.Method, 256, false)
		}
		np.due = c.date("payment.due_date", p.DueDate, false)
		np.paid = p.Paid
		np.paidAt = c.date("payment.paid_at", p.PaidAt, false)
		if !p.Paid && !np.paidAt.IsZero() {
			c.add("payment.paid_at", "given but payment.paid is false")
		}
		np.bank = c.bankAccount("payment.bank_account", p.BankAccount)
		np.partial = c.partial(p, n.grandTotal)
		n.payment = np
	}
	n.split = c.splitPayment(in.SplitPayment, n.buyer)
	n.receipt = c.receipt(in.Receipt)

	if n.memo {
		n.origNumber = c.text("invoice_increment_id", in.InvoiceIncrementID, 256, true)
		n.origKSeF = strings.TrimSpace(in.OriginalKSeFNumber)
		if n.origKSeF != "" && !reKSeF.MatchString(n.origKSeF) {
			c.add("original_ksef_number", "%s is not a KSeF number (NIP-YYYYMMDD-XXXXXXXXXXXX-CC)", quote(n.origKSeF))
		}
		n.origIssued = c.date("original_issue_date", in.OriginalIssueDate, false)
		n.reason = c.text("reason", in.Reason, 256, false)
	} else {
		for _, kv := range [][2]string{{"invoice_increment_id", in.InvoiceIncrementID},
			{"original_ksef_number", in.OriginalKSeFNumber}, {"original_issue_date", in.OriginalIssueDate}, {"reason", in.Reason}} {
			if strings.TrimSpace(kv[1]) != "" {
				c.add(kv[0], "only allowed on a creditmemo")
			}
		}
	}
	return n, c.errs
}

// lineField names item i, or "shipping" for the appended shipping line.
func lineField(i, items int) string {
	if i >= items {
		return "shipping"
	}
	return fmt.Sprintf("items[%d]", i)
}

// rateCode resolves tax_percent/tax_code to an FA(3) rate code; for tax_code
// "oss" it also returns the destination country's rate from tax_percent.
func (c *collector) rateCode(f string, pct Num, code string) (string, decimal.Decimal) {
	code = strings.Join(strings.Fields(code), " ")
	if strings.EqualFold(code, codeOSS) {
		p, ok := c.dec(f+".tax_percent", pct, false)
		switch {
		case strings.TrimSpace(string(pct)) == "":
			c.add(f+".tax_percent", "required with tax_code \"oss\": the VAT rate of the buyer's country, e.g. 19 for DE")
		case !ok:
		case !p.IsPositive() || p.GreaterThanOrEqual(decimal.NewFromInt(100)):
			c.add(f+".tax_percent", "%s%% is not a VAT rate: give the buyer's country's rate, above 0 and below 100", p)
		case -p.Exponent() > 6:
			c.add(f+".tax_percent", "%s has more than 6 decimal places", p)
		default:
			return codeOSS, p
		}
		return codeOSS, decimal.Zero
	}
	if code != "" {
		fa, ok := taxCodes[strings.ToLower(code)]
		if !ok {
			c.add(f+".tax_code", "%s is not a tax code: use one of \"0 KR\", \"0 WDT\", \"0 EX\", \"zw\", \"np I\", \"np II\", \"oo\", \"oss\" (or leave it null and give tax_percent)", quote(code))
			return "", decimal.Zero
		}
		if p, ok := c.dec(f+".tax_percent", pct, false); ok && !p.IsZero() {
			c.add(f+".tax_percent", "must be 0 or omitted with tax_code %q, got %s", fa, p)
		}
		return fa, decimal.Zero
	}
	p, ok := c.dec(f+".tax_percent", pct, true)
	if !ok {
		return "", decimal.Zero
	}
	if p.IsZero() {
		c.add(f+".tax_percent", "0%% needs a tax_code saying which 0%%/exempt case applies: \"0 KR\" (domestic), \"0 WDT\" (intra-EU supply), \"0 EX\" (export), \"zw\", \"np I\", \"np II\" or \"oo\"")
		return "", decimal.Zero
	}
	s := p.String()
	if !percentCodes[s] {
		c.add(f+".tax_percent", "%s%% is not a Polish VAT rate: use 23, 8, 5 (or 22, 7, 4, 3 for older supplies), a tax_code, or tax_code \"oss\" for an EU consumer's rate", s)
		return "", decimal.Zero
	}
	return s, decimal.Zero
}

// buyer validates the buyer and decides how it is identified.
func (c *collector) buyer(b *Buyer) normBuyer {
	nb := normBuyer{name: c.text("buyer.name", b.Name, 512, true)}
	if b.Address == nil {
		c.add("buyer.address", "required: street, city, postcode and country_id of the billing address")
	} else {
		a := b.Address
		nb.addr.KodKraju = strings.ToUpper(strings.TrimSpace(a.CountryID))
		switch {
		case nb.addr.KodKraju == "":
			c.add("buyer.address.country_id", "required: an ISO 3166 country code such as PL or DE")
		case !countryCodes[nb.addr.KodKraju]:
			c.add("buyer.address.country_id", "%s is not a country code KSeF accepts", quote(a.CountryID))
		}
		nb.addr.AdresL1 = c.text("buyer.address.street", a.Street.Joined(), 512, true)
		city := c.text("buyer.address.city", a.City, 256, true)
		nb.addr.AdresL2 = strings.TrimSpace(strings.TrimSpace(a.Postcode) + " " + city)
	}
	if e := strings.TrimSpace(b.Email); e != "" {
		if !reEmail.MatchString(e) || len(e) > 255 {
			c.add("buyer.email", "%s is not an e-mail address", quote(e))
		}
		nb.email = e
	}
	raw := strings.TrimSpace(b.VatID)
	if raw == "" {
		nb.id.BrakID = "1"
		return nb
	}
	compact := strings.ToUpper(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '.' {
			return -1 // separators people type inside VAT numbers
		}
		return r
	}, raw))
	country := nb.addr.KodKraju
	prefix := ""
	if len(compact) > 2 && compact[0] >= 'A' && compact[0] <= 'Z' && compact[1] >= 'A' && compact[1] <= 'Z' {
		prefix = compact[:2]
	}
	if prefix == "GR" {
		prefix = "EL"
	}
	if country == "GR" {
		country = "EL"
	}
	switch {
	case prefix == "PL" || (prefix == "" && (country == "PL" || country == "")):
		v, err := nip.Parse(compact)
		if err != nil {
			c.add("buyer.vat_id", "not a valid Polish NIP: %v", err)
			return nb
		}
		nb.id.NIP, nb.pl = v, true
	case prefix != "" && euCodes[prefix]:
		nb.id.KodUE, nb.id.NrVatUE, nb.eu = prefix, compact[2:], true
	case prefix == "" && euCodes[country]:
		nb.id.KodUE, nb.id.NrVatUE, nb.eu = country, compact, true
	default:
		if countryCodes[nb.addr.KodKraju] {
			nb.id.KodKraju = nb.addr.KodKraju
		}
		nb.id.NrID = c.text("buyer.vat_id", raw, 50, false)
		return nb
	}
	if nb.eu && !reVatUE.MatchString(nb.id.NrVatUE) {
		c.add("buyer.vat_id", "%s is not an EU VAT number: country prefix followed by up to 12 letters or digits", quote(raw))
	}
	return nb
}

// The FA(3)/FA(2) XSD enumerations (TKodWaluty, TKodKraju, TKodyKrajowUE) as lookup tables.

package fa

// currencyCodesFA3 holds the ISO 4217 codes FA(3) accepts in KodWaluty (read-only).
var currencyCodesFA3 = map[string]bool{
	"AED": true, "AFN": true, "ALL": true, "AMD": true, "ANG": true, "AOA": true, "ARS": true, "AUD": true,
	"AWG": true, "AZN": true, "BAM": true, "BBD": true, "BDT": true, "BGN": true, "BHD": true, "BIF": true,
	"BMD": true, "BND": true, "BOB": true, "BOV": true, "BRL": true, "BSD": true, "BTN": true, "BWP": true,
	"BYN": true, "BZD": true, "CAD": true, "CDF": true, "CHE": true, "CHF": true, "CHW": true, "CLF": true,
	"CLP": true, "CNY": true, "COP": true, "COU": true, "CRC": true, "CUC": true, "CUP": true, "CVE": true,
	"CZK": true, "DJF": true, "DKK": true, "DOP": true, "DZD": true, "EGP": true, "ERN": true, "ETB": true,
	"EUR": true, "FJD": true, "FKP": true, "GBP": true, "GEL": true, "GGP": true, "GHS": true, "GIP": true,
	"GMD": true, "GNF": true, "GTQ": true, "GYD": true, "HKD": true, "HNL": true, "HRK": true, "HTG": true,
	"HUF": true, "IDR": true, "ILS": true, "IMP": true, "INR": true, "IQD": true, "IRR": true, "ISK": true,
	"JEP": true, "JMD": true, "JOD": true, "JPY": true, "KES": true, "KGS": true, "KHR": true, "KMF": true,
	"KPW": true, "KRW": true, "KWD": true, "KYD": true, "KZT": true, "LAK": true, "LBP": true, "LKR": true,
	"LRD": true, "LSL": true, "LYD": true, "MAD": true, "MDL": true, "MGA": true, "MKD": true, "MMK": true,
	"MNT": true, "MOP": true, "MRU": true, "MUR": true, "MVR": true, "MWK": true, "MXN": true, "MXV": true,
	"MYR": true, "MZN": true, "NAD": true, "NGN": true, "NIO": true, "NOK": true, "NPR": true, "NZD": true,
	"OMR": true, "PAB": true, "PEN": true, "PGK": true, "PHP": true, "PKR": true, "PLN": true, "PYG": true,
	"QAR": true, "RON": true, "RSD": true, "RUB": true, "RWF": true, "SAR": true, "SBD": true, "SCR": true,
	"SDG": true, "SEK": true, "SGD": true, "SHP": true, "SLL": true, "SOS": true, "SRD": true, "SSP": true,
	"STN": true, "SVC": true, "SYP": true, "SZL": true, "THB": true, "TJS": true, "TMT": true, "TND": true,
	"TOP": true, "TRY": true, "TTD": true, "TWD": true, "TZS": true, "UAH": true, "UGX": true, "USD": true,
	"USN": true, "UYI": true, "UYU": true, "UYW": true, "UZS": true, "VES": true, "VND": true, "VUV": true,
	"WST": true, "XAF": true, "XAG": true, "XAU": true, "XBA": true, "XBB": true, "XBC": true, "XBD": true,
	"XCD": true, "XCG": true, "XDR": true, "XOF": true, "XPD": true, "XPF": true, "XPT": true, "XSU": true,
	"XUA": true, "XXX": true, "YER": true, "ZAR": true, "ZMW": true, "ZWL": true,
}

// currencyCodesFA2 holds the ISO 4217 codes FA(2) accepts in KodWaluty (read-only): the
// FA(3) list without XCG, which FA(3) added.
var currencyCodesFA2 = without(currencyCodesFA3, "XCG")

// countryCodes holds the country codes accepted in KodKraju (etd:TKodKraju, read-only).
var countryCodes = map[string]bool{
	"AF": true, "AX": true, "AL": true, "DZ": true, "AD": true, "AO": true, "AI": true, "AQ": true, "AG": true,
	"AN": true, "SA": true, "AR": true, "AM": true, "AW": true, "AU": true, "AT": true, "AZ": true, "BS": true,
	"BH": true, "BD": true, "BB": true, "BE": true, "BZ": true, "BJ": true, "BM": true, "BT": true, "BY": true,
	"BO": true, "BQ": true, "BA": true, "BW": true, "BR": true, "BN": true, "IO": true, "BG": true, "BF": true,
	"BI": true, "XC": true, "CL": true, "CN": true, "HR": true, "CW": true, "CY": true, "TD": true, "ME": true,
	"DK": true, "DM": true, "DO": true, "DJ": true, "EG": true, "EC": true, "ER": true, "EE": true, "ET": true,
	"FK": true, "FJ": true, "PH": true, "FI": true, "FR": true, "TF": true, "GA": true, "GM": true, "GH": true,
	"GI": true, "GR": true, "GD": true, "GL": true, "GE": true, "GU": true, "GG": true, "GY": true, "GF": true,
	"GP": true, "GT": true, "GN": true, "GQ": true, "GW": true, "HT": true, "ES": true, "HN": true, "HK": true,
	"IN": true, "ID": true, "IQ": true, "IR": true, "IE": true, "IS": true, "IL": true, "JM": true, "JP": true,
	"YE": true, "JE": true, "JO": true, "KY": true, "KH": true, "CM": true, "CA": true, "QA": true, "KZ": true,
	"KE": true, "KG": true, "KI": true, "CO": true, "KM": true, "CG": true, "CD": true, "KP": true, "XK": true,
	"CR": true, "CU": true, "KW": true, "LA": true, "LS": true, "LB": true, "LR": true, "LY": true, "LI": true,
	"LT": true, "LV": true, "LU": true, "MK": true, "MG": true, "YT": true, "MO": true, "MW": true, "MV": true,
	"MY": true, "ML": true, "MT": true, "MP": true, "MA": true, "MQ": true, "MR": true, "MU": true, "MX": true,
	"XL": true, "FM": true, "UM": true, "MD": true, "MC": true, "MN": true, "MS": true, "MZ": true, "MM": true,
	"NA": true, "NR": true, "NP": true, "NL": true, "DE": true, "NE": true, "NG": true, "NI": true, "NU": true,
	"NF": true, "NO": true, "NC": true, "NZ": true, "PS": true, "OM": true, "PK": true, "PW": true, "PA": true,
	"PG": true, "PY": true, "PE": true, "PN": true, "PF": true, "PL": true, "GS": true, "PT": true, "PR": true,
	"CF": true, "CZ": true, "KR": true, "ZA": true, "RE": true, "RU": true, "RO": true, "RW": true, "EH": true,
	"BL": true, "KN": true, "LC": true, "MF": true, "VC": true, "SV": true, "WS": true, "AS": true, "SM": true,
	"SN": true, "RS": true, "SC": true, "SL": true, "SG": true, "SK": true, "SI": true, "SO": true, "LK": true,
	"PM": true, "US": true, "SZ": true, "SD": true, "SS": true, "SR": true, "SJ": true, "SH": true, "SY": true,
	"CH": true, "SE": true, "TJ": true, "TH": true, "TW": true, "TZ": true, "TG": true, "TK": true, "TO": true,
	"TT": true, "TN": true, "TR": true, "TM": true, "TV": true, "UG": true, "UA": true, "UY": true, "UZ": true,
	"VU": true, "WF": true, "VA": true, "HU": true, "VE": true, "GB": true, "VN": true, "IT": true, "TL": true,
	"CI": true, "BV": true, "CX": true, "IM": true, "SX": true, "CK": true, "VI": true, "VG": true, "HM": true,
	"CC": true, "MH": true, "FO": true, "SB": true, "ST": true, "TC": true, "ZM": true, "CV": true, "ZW": true,
	"AE": true, "XI": true,
}

// euCodes holds the EU VAT prefixes accepted in KodUE (TKodyKrajowUE; Greece is EL, Northern Ireland XI; read-only).
var euCodes = map[string]bool{
	"AT": true, "BE": true, "BG": true, "CY": true, "CZ": true, "DK": true, "EE": true, "FI": true, "FR": true,
	"DE": true, "EL": true, "HR": true, "HU": true, "IE": true, "IT": true, "LV": true, "LT": true, "LU": true,
	"MT": true, "NL": true, "PL": true, "PT": true, "RO": true, "SK": true, "SI": true, "ES": true, "SE": true,
	"XI": true,
}

// without returns a copy of set without the given keys.
func without(set map[string]bool, keys ...string) map[string]bool {
	out := make(map[string]bool, len(set))
	for k, v := range set {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

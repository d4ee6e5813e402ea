package fa

import "encoding/xml"

// Namespaces and fixed header values of the supported schemas.
const (
	NamespaceFA3 = "http://crd.gov.pl/wzor/2025/06/25/13775/"
	NamespaceFA2 = "http://crd.gov.pl/wzor/2023/06/29/12648/"
)

// Document is one structured invoice (the Faktura root element). Its fields follow
// the element order of the FA(3) schema, which FA(2) shares (FA(2) lacks JST, GV
// and Zalacznik). All values are kept as the exact text of the XML so that parsed
// documents marshal back unchanged; use Summarize for decimals.
type Document struct {
	XMLName            xml.Name  `xml:"Faktura"`
	Naglowek           Naglowek  `xml:"Naglowek"`
	Podmiot1           Podmiot1  `xml:"Podmiot1"`
	Podmiot2           Podmiot2  `xml:"Podmiot2"`
	Podmiot3           []Node    `xml:"Podmiot3"`
	PodmiotUpowazniony *Node     `xml:"PodmiotUpowazniony"`
	Fa                 FaSection `xml:"Fa"`
	Stopka             *Node     `xml:"Stopka"`
	Zalacznik          *Node     `xml:"Zalacznik"`
}

// Schema reports which schema the document's namespace belongs to ("" if neither).
func (d *Document) Schema() Schema {
	switch d.XMLName.Space {
	case NamespaceFA3:
		return FA3
	case NamespaceFA2:
		return FA2
	}
	return ""
}

// Naglowek is the invoice header.
type Naglowek struct {
	KodFormularza     KodFormularza `xml:"KodFormularza"`
	WariantFormularza string        `xml:"WariantFormularza"`
	DataWytworzeniaFa string        `xml:"DataWytworzeniaFa"`
	SystemInfo        string        `xml:"SystemInfo,omitempty"`
}

// KodFormularza is the form code with its fixed attributes.
type KodFormularza struct {
	KodSystemowy string `xml:"kodSystemowy,attr"`
	WersjaSchemy string `xml:"wersjaSchemy,attr"`
	Value        string `xml:",chardata"`
}

// Adres is a postal address (TAdres).
type Adres struct {
	KodKraju string `xml:"KodKraju"`
	AdresL1  string `xml:"AdresL1"`
	AdresL2  string `xml:"AdresL2,omitempty"`
	GLN      string `xml:"GLN,omitempty"`
}

// DaneKontaktowe is an e-mail address and/or telephone number.
type DaneKontaktowe struct {
	Email   string `xml:"Email,omitempty"`
	Telefon string `xml:"Telefon,omitempty"`
}

// Podmiot1 is the seller.
type Podmiot1 struct {
	PrefiksPodatnika    string           `xml:"PrefiksPodatnika,omitempty"`
	NrEORI              string           `xml:"NrEORI,omitempty"`
	DaneIdentyfikacyjne DaneSprzedawcy   `xml:"DaneIdentyfikacyjne"`
	Adres               Adres            `xml:"Adres"`
	AdresKoresp         *Adres           `xml:"AdresKoresp"`
	DaneKontaktowe      []DaneKontaktowe `xml:"DaneKontaktowe"`
	StatusInfoPodatnika string           `xml:"StatusInfoPodatnika,omitempty"`
}

// DaneSprzedawcy identifies the seller (TPodmiot1).
type DaneSprzedawcy struct {
	NIP   string `xml:"NIP"`
	Nazwa string `xml:"Nazwa"`
}

// Podmiot2 is the buyer.
type Podmiot2 struct {
	NrEORI              string           `xml:"NrEORI,omitempty"`
	DaneIdentyfikacyjne DaneNabywcy      `xml:"DaneIdentyfikacyjne"`
	Adres               *Adres           `xml:"Adres"`
	AdresKoresp         *Adres           `xml:"AdresKoresp"`
	DaneKontaktowe      []DaneKontaktowe `xml:"DaneKontaktowe"`
	NrKlienta           string           `xml:"NrKlienta,omitempty"`
	IDNabywcy           string           `xml:"IDNabywcy,omitempty"`
	JST                 string           `xml:"JST,omitempty"`
	GV                  string           `xml:"GV,omitempty"`
}

// DaneNabywcy identifies the buyer (TPodmiot2): exactly one of NIP, KodUE+NrVatUE,
// [KodKraju+]NrID or BrakID.
type DaneNabywcy struct {
	NIP      string `xml:"NIP,omitempty"`
	KodUE    string `xml:"KodUE,omitempty"`
	NrVatUE  string `xml:"NrVatUE,omitempty"`
	KodKraju string `xml:"KodKraju,omitempty"`
	NrID     string `xml:"NrID,omitempty"`
	BrakID   string `xml:"BrakID,omitempty"`
	Nazwa    string `xml:"Nazwa,omitempty"`
}

// FaSection is the invoice body (element Fa).
type FaSection struct {
	KodWaluty          string              `xml:"KodWaluty"`
	P1                 string              `xml:"P_1"`
	P1M                string              `xml:"P_1M,omitempty"`
	P2                 string              `xml:"P_2"`
	WZ                 []string            `xml:"WZ"`
	P6                 string              `xml:"P_6,omitempty"`
	OkresFa            *Node               `xml:"OkresFa"`
	P13_1              string              `xml:"P_13_1,omitempty"`
	P14_1              string              `xml:"P_14_1,omitempty"`
	P14_1W             string              `xml:"P_14_1W,omitempty"`
	P13_2              string              `xml:"P_13_2,omitempty"`
	P14_2              string              `xml:"P_14_2,omitempty"`
	P14_2W             string              `xml:"P_14_2W,omitempty"`
	P13_3              string              `xml:"P_13_3,omitempty"`
	P14_3              string              `xml:"P_14_3,omitempty"`
	P14_3W             string              `xml:"P_14_3W,omitempty"`
	P13_4              string              `xml:"P_13_4,omitempty"`
	P14_4              string              `xml:"P_14_4,omitempty"`
	P14_4W             string              `xml:"P_14_4W,omitempty"`
	P13_5              string              `xml:"P_13_5,omitempty"`
	P14_5              string              `xml:"P_14_5,omitempty"`
	P13_6_1            string              `xml:"P_13_6_1,omitempty"`
	P13_6_2            string              `xml:"P_13_6_2,omitempty"`
	P13_6_3            string              `xml:"P_13_6_3,omitempty"`
	P13_7              string              `xml:"P_13_7,omitempty"`
	P13_8              string              `xml:"P_13_8,omitempty"`
	P13_9              string              `xml:"P_13_9,omitempty"`
	P13_10             string              `xml:"P_13_10,omitempty"`
	P13_11             string              `xml:"P_13_11,omitempty"`
	P15                string              `xml:"P_15"`
	KursWalutyZ        string              `xml:"KursWalutyZ,omitempty"`
	Adnotacje          Adnotacje           `xml:"Adnotacje"`
	RodzajFaktury      string              `xml:"RodzajFaktury"`
	PrzyczynaKorekty   string              `xml:"PrzyczynaKorekty,omitempty"`
	TypKorekty         string              `xml:"TypKorekty,omitempty"`
	DaneFaKorygowanej  []DaneFaKorygowanej `xml:"DaneFaKorygowanej"`
	OkresFaKorygowanej string              `xml:"OkresFaKorygowanej,omitempty"`
	NrFaKorygowany     string              `xml:"NrFaKorygowany,omitempty"`
	Podmiot1K          *Node               `xml:"Podmiot1K"`
	Podmiot2K          []Node              `xml:"Podmiot2K"`
	P15ZK              string              `xml:"P_15ZK,omitempty"`
	KursWalutyZK       string              `xml:"KursWalutyZK,omitempty"`
	ZaliczkaCzesciowa  []Node              `xml:"ZaliczkaCzesciowa"`
	FP                 string              `xml:"FP,omitempty"`
	TP                 string              `xml:"TP,omitempty"`
	DodatkowyOpis      []KluczWartosc      `xml:"DodatkowyOpis"`
	FakturaZaliczkowa  []Node              `xml:"FakturaZaliczkowa"`
	ZwrotAkcyzy        string              `xml:"ZwrotAkcyzy,omitempty"`
	FaWiersz           []FaWiersz          `xml:"FaWiersz"`
	Rozliczenie        *Node               `xml:"Rozliczenie"`
	Platnosc           *Platnosc           `xml:"Platnosc"`
	WarunkiTransakcji  *Node               `xml:"WarunkiTransakcji"`
	Zamowienie         *Node               `xml:"Zamowienie"`
}

// Adnotacje holds the mandatory annotations; "2"/"1" mean no/yes as in the schema.
type Adnotacje struct {
	P16                  string               `xml:"P_16"`
	P17                  string               `xml:"P_17"`
	P18                  string               `xml:"P_18"`
	P18A                 string               `xml:"P_18A"`
	Zwolnienie           Zwolnienie           `xml:"Zwolnienie"`
	NoweSrodkiTransportu NoweSrodkiTransportu `xml:"NoweSrodkiTransportu"`
	P23                  string               `xml:"P_23"`
	PMarzy               PMarzy               `xml:"PMarzy"`
}

// Zwolnienie is the VAT exemption annotation: P_19=1 with one legal basis, or P_19N=1.
type Zwolnienie struct {
	P19  string `xml:"P_19,omitempty"`
	P19A string `xml:"P_19A,omitempty"`
	P19B string `xml:"P_19B,omitempty"`
	P19C string `xml:"P_19C,omitempty"`
	P19N string `xml:"P_19N,omitempty"`
}

// NoweSrodkiTransportu is the intra-EU new means of transport annotation.
type NoweSrodkiTransportu struct {
	P22                  string `xml:"P_22,omitempty"`
	P42_5                string `xml:"P_42_5,omitempty"`
	NowySrodekTransportu []Node `xml:"NowySrodekTransportu"`
	P22N                 string `xml:"P_22N,omitempty"`
}

// PMarzy is the margin-scheme annotation.
type PMarzy struct {
	PPMarzy    string `xml:"P_PMarzy,omitempty"`
	PPMarzy2   string `xml:"P_PMarzy_2,omitempty"`
	PPMarzy3_1 string `xml:"P_PMarzy_3_1,omitempty"`
	PPMarzy3_2 string `xml:"P_PMarzy_3_2,omitempty"`
	PPMarzy3_3 string `xml:"P_PMarzy_3_3,omitempty"`
	PPMarzyN   string `xml:"P_PMarzyN,omitempty"`
}

// DaneFaKorygowanej identifies an invoice being corrected.
type DaneFaKorygowanej struct {
	DataWystFaKorygowanej string `xml:"DataWystFaKorygowanej"`
	NrFaKorygowanej       string `xml:"NrFaKorygowanej"`
	NrKSeF                string `xml:"NrKSeF,omitempty"`
	NrKSeFFaKorygowanej   string `xml:"NrKSeFFaKorygowanej,omitempty"`
	NrKSeFN               string `xml:"NrKSeFN,omitempty"`
}

// KluczWartosc is one DodatkowyOpis row (key/value free text).
type KluczWartosc struct {
	NrWiersza string `xml:"NrWiersza,omitempty"`
	Klucz     string `xml:"Klucz"`
	Wartosc   string `xml:"Wartosc"`
}

// FaWiersz is one invoice line.
type FaWiersz struct {
	NrWierszaFa string `xml:"NrWierszaFa"`
	UUID        string `xml:"UU_ID,omitempty"`
	P6A         string `xml:"P_6A,omitempty"`
	P7          string `xml:"P_7,omitempty"`
	Indeks      string `xml:"Indeks,omitempty"`
	GTIN        string `xml:"GTIN,omitempty"`
	PKWiU       string `xml:"PKWiU,omitempty"`
	CN          string `xml:"CN,omitempty"`
	PKOB        string `xml:"PKOB,omitempty"`
	P8A         string `xml:"P_8A,omitempty"`
	P8B         string `xml:"P_8B,omitempty"`
	P9A         string `xml:"P_9A,omitempty"`
	P9B         string `xml:"P_9B,omitempty"`
	P10         string `xml:"P_10,omitempty"`
	P11         string `xml:"P_11,omitempty"`
	P11A        string `xml:"P_11A,omitempty"`
	P11Vat      string `xml:"P_11Vat,omitempty"`
	P12         string `xml:"P_12,omitempty"`
	P12XII      string `xml:"P_12_XII,omitempty"`
	P12Zal15    string `xml:"P_12_Zal_15,omitempty"`
	KwotaAkcyzy string `xml:"KwotaAkcyzy,omitempty"`
	GTU         string `xml:"GTU,omitempty"`
	Procedura   string `xml:"Procedura,omitempty"`
	KursWaluty  string `xml:"KursWaluty,omitempty"`
	StanPrzed   string `xml:"StanPrzed,omitempty"`
}

// Platnosc holds payment information.
type Platnosc struct {
	Zaplacono                 string            `xml:"Zaplacono,omitempty"`
	DataZaplaty               string            `xml:"DataZaplaty,omitempty"`
	ZnacznikZaplatyCzesciowej string            `xml:"ZnacznikZaplatyCzesciowej,omitempty"`
	ZaplataCzesciowa          []Node            `xml:"ZaplataCzesciowa"`
	TerminPlatnosci           []TerminPlatnosci `xml:"TerminPlatnosci"`
	FormaPlatnosci            string            `xml:"FormaPlatnosci,omitempty"`
	PlatnoscInna              string            `xml:"PlatnoscInna,omitempty"`
	OpisPlatnosci             string            `xml:"OpisPlatnosci,omitempty"`
	RachunekBankowy           []Node            `xml:"RachunekBankowy"`
	RachunekBankowyFaktora    []Node            `xml:"RachunekBankowyFaktora"`
	Skonto                    *Node             `xml:"Skonto"`
	LinkDoPlatnosci           string            `xml:"LinkDoPlatnosci,omitempty"`
	IPKSeF                    string            `xml:"IPKSeF,omitempty"`
}

// TerminPlatnosci is one payment due date (TerminOpis is kept verbatim: plain text
// in FA(2), structured in FA(3)).
type TerminPlatnosci struct {
	Termin     string `xml:"Termin,omitempty"`
	TerminOpis *Node  `xml:"TerminOpis"`
}

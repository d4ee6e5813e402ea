// Package invoice owns the one pipeline that turns a shop invoice or credit memo JSON
// (docs/invoice-json.md) into the FA(3)/FA(2) XML of one website: parse, the website's
// seller settings, the exchange rate (NBP table A, or a provisional stand-in while a
// document is only being queued), fa.Build, marshal and the structural check. Every
// command that builds an invoice goes through it — invoice:preview and invoice:validate,
// queue admission, golive:check's preview and submit's freeze — so that they differ only
// in the options they pass.
package invoice

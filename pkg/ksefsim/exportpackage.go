package ksefsim

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/aes"
	"crypto/cipher"
	"encoding/json"
	"fmt"
	"time"
)

// exportFile is one file of an export package.
type exportFile struct {
	name    string
	content []byte
}

// exportPart is one encrypted part of an export package.
type exportPart struct {
	name          string
	plainSize     int64
	plainHash     string
	encrypted     []byte
	encryptedHash string
}

// exportPackage is a finished package: the parts to download and what the status
// reports about them.
type exportPackage struct {
	invoiceCount int
	size         int64 // the archive's size before it was split and encrypted
	parts        []exportPart
	truncated    bool
	last         *invoiceRec // the last invoice in the package, for the last*Date fields
	compression  string
}

// packageMetadata is the content of _metadata.json: {"invoices": [InvoiceMetadata…]}.
type packageMetadata struct {
	Invoices []invoiceMetadata `json:"invoices"`
}

// metadataFileName is the metadata file of every export package.
const metadataFileName = "_metadata.json"

// exportArchive packs the files (each invoice as {ksefNumber}.xml, unless only the
// metadata was asked for) and _metadata.json into a ZIP or a tar.gz archive.
func exportArchive(compression string, files []exportFile, meta []invoiceMetadata, now time.Time) ([]byte, error) {
	mj, err := json.Marshal(packageMetadata{Invoices: meta})
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", metadataFileName, err)
	}
	files = append(files, exportFile{name: metadataFileName, content: mj})
	var buf bytes.Buffer
	if compression == compressionTarGz {
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		for _, f := range files {
			hdr := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.content)), ModTime: now, Typeflag: tar.TypeReg}
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, err
			}
			if _, err := tw.Write(f.content); err != nil {
				return nil, err
			}
		}
		if err := tw.Close(); err != nil {
			return nil, err
		}
		if err := gz.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: now})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.content); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// aesCBCEncrypt encrypts with AES-256-CBC and PKCS#7 padding (the IV is not prepended:
// the client chose it).
func aesCBCEncrypt(key, iv, plain []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	out := make([]byte, len(plain)+pad)
	copy(out, plain)
	for i := len(plain); i < len(out); i++ {
		out[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, out)
	return out, nil
}

// splitAndEncrypt cuts the archive into parts of at most partSize bytes and encrypts
// each part on its own with the client's key and IV (as KSeF does: the client
// decrypts every part and concatenates the results). Parts are named
// {ref}-001.zip.aes (or .tar.gz.aes).
func splitAndEncrypt(ref, compression string, archive, key, iv []byte, partSize int64) ([]exportPart, error) {
	ext := ".zip.aes"
	if compression == compressionTarGz {
		ext = ".tar.gz.aes"
	}
	var parts []exportPart
	for off, n := int64(0), 1; off < int64(len(archive)) || n == 1; n++ {
		end := min(off+partSize, int64(len(archive)))
		plain := archive[off:end]
		ct, err := aesCBCEncrypt(key, iv, plain)
		if err != nil {
			return nil, err
		}
		parts = append(parts, exportPart{
			name: fmt.Sprintf("%s-%03d%s", ref, n, ext), plainSize: int64(len(plain)), plainHash: sha256B64(plain),
			encrypted: ct, encryptedHash: sha256B64(ct),
		})
		off = end
	}
	return parts, nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Website is a store_website row.
type Website struct {
	ID        int64  `json:"website_id"`
	Code      string `json:"code"`
	Name      string `json:"name"`
	IsDefault bool   `json:"is_default"`
}

// StoreView is a store row (a Magento store view).
type StoreView struct {
	ID        int64  `json:"store_id"`
	Code      string `json:"code"`
	WebsiteID int64  `json:"website_id"`
	Name      string `json:"name"`
}

// ErrDuplicate is returned when a unique code is already taken.
var ErrDuplicate = errors.New("already exists")

// Websites lists all websites by id.
func (d *DB) Websites(ctx context.Context) ([]Website, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT website_id, code, name, is_default FROM store_website ORDER BY website_id`)
	if err != nil {
		return nil, fmt.Errorf("list websites: %w", err)
	}
	defer rows.Close()
	var out []Website
	for rows.Next() {
		var w Website
		if err := rows.Scan(&w.ID, &w.Code, &w.Name, &w.IsDefault); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// WebsiteByCode finds a website; ErrNotFound when there is none.
func (d *DB) WebsiteByCode(ctx context.Context, code string) (Website, error) {
	var w Website
	err := d.sql.QueryRowContext(ctx, `SELECT website_id, code, name, is_default FROM store_website WHERE code = ?`, code).
		Scan(&w.ID, &w.Code, &w.Name, &w.IsDefault)
	if errors.Is(err, sql.ErrNoRows) {
		return w, fmt.Errorf("website %q: %w", code, ErrNotFound)
	}
	if err != nil {
		return w, fmt.Errorf("find website %q: %w", code, err)
	}
	return w, nil
}

// WebsiteByID finds a website by id; ErrNotFound when there is none.
func (d *DB) WebsiteByID(ctx context.Context, id int64) (Website, error) {
	var w Website
	err := d.sql.QueryRowContext(ctx, `SELECT website_id, code, name, is_default FROM store_website WHERE website_id = ?`, id).
		Scan(&w.ID, &w.Code, &w.Name, &w.IsDefault)
	if errors.Is(err, sql.ErrNoRows) {
		return w, fmt.Errorf("website %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return w, fmt.Errorf("find website %d: %w", id, err)
	}
	return w, nil
}

// CreateWebsite adds a website together with a store view of the same code (when that
// code is still free), so that stores-scope settings work for it right away. It fails
// with ErrDuplicate when the website code is taken.
func (d *DB) CreateWebsite(ctx context.Context, code, name string) (Website, error) {
	var w Website
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM store_website WHERE code = ?`, code).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("website %q: %w", code, ErrDuplicate)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO store_website (code, name, is_default) VALUES (?, ?, 0)`, code, name)
		if err != nil {
			return fmt.Errorf("create website %q: %w", code, err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		w = Website{ID: id, Code: code, Name: name}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM store WHERE code = ?`, code).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO store (code, website_id, name) VALUES (?, ?, ?)`,
				code, id, strings.TrimSpace(name+" Store View")); err != nil {
				return fmt.Errorf("create store view %q: %w", code, err)
			}
		}
		return nil
	})
	return w, err
}

// StoreByCode finds a store view; ErrNotFound when there is none.
func (d *DB) StoreByCode(ctx context.Context, code string) (StoreView, error) {
	var s StoreView
	err := d.sql.QueryRowContext(ctx, `SELECT store_id, code, website_id, name FROM store WHERE code = ?`, code).
		Scan(&s.ID, &s.Code, &s.WebsiteID, &s.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("store %q: %w", code, ErrNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("find store %q: %w", code, err)
	}
	return s, nil
}

// Stores lists all store views by id.
func (d *DB) Stores(ctx context.Context) ([]StoreView, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT store_id, code, website_id, name FROM store ORDER BY store_id`)
	if err != nil {
		return nil, fmt.Errorf("list stores: %w", err)
	}
	defer rows.Close()
	var out []StoreView
	for rows.Next() {
		var s StoreView
		if err := rows.Scan(&s.ID, &s.Code, &s.WebsiteID, &s.Name); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

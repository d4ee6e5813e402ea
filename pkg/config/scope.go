package config

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ksefpl/ksefpl/internal/lazyre"
	"github.com/ksefpl/ksefpl/pkg/store"
)

// Scope identifies where a value is stored: default, one website, or one store view.
type Scope struct {
	Type string // store.ScopeDefault, store.ScopeWebsites or store.ScopeStores
	Code string // website or store code; empty for default
	ID   int64  // website_id or store_id; 0 for default
	// WebsiteID and WebsiteCode are the website a stores scope belongs to (equal to ID and
	// Code for a websites scope).
	WebsiteID   int64
	WebsiteCode string
}

// Default is the default scope.
var Default = Scope{Type: store.ScopeDefault}

// String renders the scope as Magento paths do: default, websites/CODE, stores/CODE.
func (s Scope) String() string {
	if s.Type == store.ScopeDefault || s.Type == "" {
		return store.ScopeDefault
	}
	return s.Type + "/" + s.Code
}

var scopeCodeRE = lazyre.New(`^[a-z]+[a-z0-9_]*$`)

// ValidScopeCode reports whether code matches Magento's rule for scope codes.
func ValidScopeCode(code string) bool { return scopeCodeRE.MatchString(code) }

// ScopeCodeRule is Magento's message for a badly formed code.
const ScopeCodeRule = "The scope code can include only lowercase letters (a-z), numbers (0-9) and underscores (_). Also, the first character must be a letter."

// ResolveScope validates a --scope/--scope-code pair the way Magento's scope validator
// does and looks the code up. scopeType accepts default, website(s) and store(s).
func (s *Service) ResolveScope(ctx context.Context, scopeType, code string) (Scope, error) {
	t := strings.ToLower(strings.TrimSpace(scopeType))
	switch t {
	case "", store.ScopeDefault:
		if code != "" {
			return Scope{}, &ScopeError{`The "default" scope can't include a scope code. Try again without entering a scope code.`}
		}
		return Default, nil
	case "website", store.ScopeWebsites:
		t = store.ScopeWebsites
	case "store", store.ScopeStores:
		t = store.ScopeStores
	default:
		return Scope{}, &ScopeError{fmt.Sprintf("The %q value doesn't exist. Enter another value.", scopeType)}
	}
	if code == "" {
		return Scope{}, &ScopeError{"Enter a scope code before proceeding."}
	}
	if !ValidScopeCode(code) {
		return Scope{}, &ScopeError{ScopeCodeRule}
	}
	if t == store.ScopeWebsites {
		return s.WebsiteScope(ctx, code)
	}
	sv, err := s.db.StoreByCode(ctx, code)
	if errors.Is(err, store.ErrNotFound) {
		return Scope{}, &ScopeError{fmt.Sprintf("The %q value doesn't exist. Enter another value.", code)}
	}
	if err != nil {
		return Scope{}, err
	}
	w, err := s.db.WebsiteByID(ctx, sv.WebsiteID)
	if err != nil {
		return Scope{}, err
	}
	return Scope{Type: store.ScopeStores, Code: sv.Code, ID: sv.ID, WebsiteID: w.ID, WebsiteCode: w.Code}, nil
}

// WebsiteScope returns the scope of the website with this code.
func (s *Service) WebsiteScope(ctx context.Context, code string) (Scope, error) {
	w, err := s.db.WebsiteByCode(ctx, code)
	if errors.Is(err, store.ErrNotFound) {
		return Scope{}, &ScopeError{fmt.Sprintf("The %q value doesn't exist. Enter another value.", code)}
	}
	if err != nil {
		return Scope{}, err
	}
	return Scope{Type: store.ScopeWebsites, Code: w.Code, ID: w.ID, WebsiteID: w.ID, WebsiteCode: w.Code}, nil
}

// WebsiteScopes returns the scope of the website with this code, or of every website,
// in id order, when code is "".
func (s *Service) WebsiteScopes(ctx context.Context, code string) ([]Scope, error) {
	if code != "" {
		sc, err := s.WebsiteScope(ctx, code)
		if err != nil {
			return nil, err
		}
		return []Scope{sc}, nil
	}
	ws, err := s.db.Websites(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Scope, 0, len(ws))
	for _, w := range ws {
		out = append(out, Scope{Type: store.ScopeWebsites, Code: w.Code, ID: w.ID, WebsiteID: w.ID, WebsiteCode: w.Code})
	}
	return out, nil
}

// chain lists the (scope, id) levels to consult for a scope, most specific first.
func (sc Scope) chain() []Scope {
	web := Scope{Type: store.ScopeWebsites, Code: sc.WebsiteCode, ID: sc.WebsiteID, WebsiteID: sc.WebsiteID, WebsiteCode: sc.WebsiteCode}
	switch sc.Type {
	case store.ScopeStores:
		return []Scope{sc, web, Default}
	case store.ScopeWebsites:
		return []Scope{sc, Default}
	}
	return []Scope{Default}
}

package ksefsim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Serve runs a simulator on addr (for example "127.0.0.1:0") until ctx is cancelled.
// ready, when not nil, is called with the base URL ("http://127.0.0.1:PORT") once the
// listener accepts connections; the KSeF 2.0 API is under that URL + "/v2". Serve
// returns nil after a clean shutdown.
func Serve(ctx context.Context, addr string, cfg Config, ready func(url string)) error {
	sim, err := New(cfg)
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("ksefsim: listen on %s: %w (is the port already in use?)", addr, err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready("http://" + ln.Addr().String())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("ksefsim: serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("ksefsim: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("ksefsim: serve: %w", err)
	}
	return nil
}

// Command yx-ferretdb runs FerretDB v1 as an embedded MongoDB-wire-compatible store, on
// its SQLite backend (a directory of files) or its PostgreSQL one (--handler=pg). It exists because `go install .../cmd/ferretdb`
// builds a binary that panics at start (FerretDB's version file is not in the module),
// while the embeddable `ferretdb` package works as is.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only with --debug-addr, for goroutine dumps of a stuck store
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on (loopback by default)")
	handler := flag.String("handler", "sqlite", "backend: sqlite (files under --data-dir) or pg (PostgreSQL at --postgresql-url)")
	dataDir := flag.String("data-dir", "", "directory for SQLite databases (required with --handler=sqlite)")
	pgURL := flag.String("postgresql-url", "", "PostgreSQL connection URL (required with --handler=pg), e.g. postgres://user@/db?host=/socket/dir")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn, error")
	debugAddr := flag.String("debug-addr", "", "address for Go's pprof handlers (off when empty)")
	flag.Parse()

	if *debugAddr != "" {
		go func() {
			if err := http.ListenAndServe(*debugAddr, nil); err != nil {
				fmt.Fprintf(os.Stderr, "yx-ferretdb: debug listener: %v\n", err)
			}
		}()
	}

	if err := run(*listen, *handler, *dataDir, *pgURL, *logLevel); err != nil {
		fmt.Fprintf(os.Stderr, "yx-ferretdb: %v\n", err)
		os.Exit(1)
	}
}

// backend is what FerretDB's Config needs of the chosen handler.
type backend struct {
	handler       string // FerretDB's name: "sqlite" or "postgresql"
	sqliteURL     string
	postgreSQLURL string
}

// chooseBackend checks the handler flags together: each handler takes its own location
// and refuses the other's, so a command line that mixes them is an error, not a guess.
func chooseBackend(handler, dataDir, pgURL string) (backend, error) {
	switch handler {
	case "sqlite":
		if pgURL != "" {
			return backend{}, errors.New("--postgresql-url is for --handler=pg; --handler=sqlite stores under --data-dir")
		}
		if dataDir == "" {
			return backend{}, errors.New("--data-dir is required with --handler=sqlite")
		}
		abs, err := filepath.Abs(dataDir)
		if err != nil {
			return backend{}, fmt.Errorf("--data-dir %q: %w", dataDir, err)
		}
		return backend{handler: "sqlite", sqliteURL: "file:" + strings.TrimSuffix(abs, "/") + "/"}, nil
	case "pg":
		if dataDir != "" {
			return backend{}, errors.New("--data-dir is for --handler=sqlite; --handler=pg stores in the database of --postgresql-url")
		}
		if pgURL == "" {
			return backend{}, errors.New("--postgresql-url is required with --handler=pg")
		}
		u, err := url.Parse(pgURL)
		if err != nil {
			return backend{}, fmt.Errorf("--postgresql-url: %w", err)
		}
		if u.Scheme != "postgres" && u.Scheme != "postgresql" {
			return backend{}, fmt.Errorf("--postgresql-url %q: the scheme must be postgres:// or postgresql://", pgURL)
		}
		if strings.Trim(u.Path, "/") == "" {
			return backend{}, fmt.Errorf("--postgresql-url %q: name the database (postgres://…/DBNAME)", pgURL)
		}
		return backend{handler: "postgresql", postgreSQLURL: pgURL}, nil
	default:
		return backend{}, fmt.Errorf("--handler %q: use sqlite or pg", handler)
	}
}

func run(listen, handler, dataDir, pgURL, logLevel string) error {
	be, err := chooseBackend(handler, dataDir, pgURL)
	if err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(listen); err != nil {
		return fmt.Errorf("--listen-addr %q: %w", listen, err)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: %w", logLevel, err)
	}

	if be.handler == "sqlite" {
		dir := strings.TrimSuffix(strings.TrimPrefix(be.sqliteURL, "file:"), "/")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("--data-dir %q: %w", dataDir, err)
		}
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: listen},
		Logger:        logger,
		Handler:       be.handler,
		SQLiteURL:     be.sqliteURL,
		PostgreSQLURL: be.postgreSQLURL,
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	// MongoDBURI blocks until the listener is bound, so this line means "ready".
	fmt.Fprintf(os.Stdout, "yx-ferretdb ready %s\n", f.MongoDBURI())

	return <-done
}

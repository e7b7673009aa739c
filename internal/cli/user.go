package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/config"
	"github.com/ibiki/ibiki/internal/store"
)

// user manages dashboard users from the command line: `ibiki user create --admin --email x`
// makes an operator, `ibiki user password --email x` sets a password (and signs the user out
// everywhere). The password is read from the file named by --password-file, or from the first
// line of standard input, so that it never appears in the process list or shell history.
func user(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "password") {
		return errors.New("usage: ibiki user create --admin --email EMAIL [--name NAME] [--password-file FILE]\n" +
			"       ibiki user password --email EMAIL [--password-file FILE]")
	}
	fs := flag.NewFlagSet("user "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	admin := fs.Bool("admin", false, "make an operator (client users are invited from the dashboard)")
	email := fs.String("email", "", "the user's email")
	name := fs.String("name", "", "the user's name")
	pwFile := fs.String("password-file", "", "file holding the password (default: read one line from standard input)")
	dbURL := fs.String("database-url", "", "database (default: IBIKI_DATABASE_URL, else ibiki.db)")
	if err := fs.Parse(args[1:]); err != nil {
		return config.UsageError(err)
	}
	if *email == "" {
		return errors.New("--email is required")
	}
	if args[0] == "create" && !*admin {
		return errors.New("only operators are created here (--admin); operators invite client users from the dashboard")
	}
	password, err := readPassword(*pwFile, stdin)
	if err != nil {
		return err
	}
	cfg, err := config.Load(nil, os.Getenv, stderr)
	if err != nil {
		return err
	}
	if *dbURL != "" {
		cfg.DatabaseURL = *dbURL
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	accounts := &auth.Accounts{Store: st, Clock: time.Now}
	if args[0] == "create" {
		u, err := accounts.CreateOperator(ctx, *email, *name, password)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "operator %s created (%s)\n", u.Email, u.ID)
		return nil
	}
	norm, err := auth.NormalizeEmail(*email)
	if err != nil {
		return err
	}
	u, err := st.UserByEmail(ctx, norm)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user has the email %s", norm)
	}
	if err != nil {
		return err
	}
	if err := accounts.SetPassword(ctx, u.ID, password); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "password of %s changed; the user is signed out everywhere\n", u.Email)
	return nil
}

func readPassword(file string, stdin io.Reader) (string, error) {
	var line string
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		line = string(b)
	} else {
		var err error
		line, err = bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
	}
	pw := strings.TrimRight(line, "\r\n")
	if err := auth.CheckPasswordRules(pw); err != nil {
		return "", err
	}
	return pw, nil
}

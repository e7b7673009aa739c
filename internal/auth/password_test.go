package auth_test

import (
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/auth"
)

func TestPasswordHashing(t *testing.T) {
	h := auth.HashPassword("correct horse battery")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not argon2id in PHC form", h)
	}
	if h2 := auth.HashPassword("correct horse battery"); h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	tests := []struct {
		name string
		hash string
		pw   string
		want bool
	}{
		{"the right password matches", h, "correct horse battery", true},
		{"a wrong password does not", h, "correct horse batterY", false},
		{"an empty password does not", h, "", false},
		{"an empty hash matches nothing (invited user)", "", "", false},
		{"a malformed hash matches nothing", "$argon2id$v=19$m=0,t=0,p=0$$", "x", false},
		{"another algorithm is refused", "$2a$10$abcdefghijklmnopqrstuv", "x", false},
		{"an over-long password is refused before hashing", h, strings.Repeat("a", 300), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := auth.CheckPassword(tt.hash, tt.pw); got != tt.want {
				t.Errorf("CheckPassword = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPasswordRules(t *testing.T) {
	for pw, ok := range map[string]bool{
		"short":                  false,
		"ten chars!":             true,
		"émojis 🙂🙂🙂":             true,
		strings.Repeat("a", 256): true,
		strings.Repeat("a", 257): false,
	} {
		if err := auth.CheckPasswordRules(pw); (err == nil) != ok {
			t.Errorf("CheckPasswordRules(%q) = %v", pw, err)
		}
	}
}

package template_test

import (
	"errors"
	"testing"

	"github.com/ibiki/ibiki/internal/template"
)

func TestRender(t *testing.T) {
	fields := map[string]string{"firstname": "Ann", "lastname": "Lee", "business": "Acme", "phone": "+15551234567",
		"ordernumber": "A-17", "empty": "  "}
	tests := []struct {
		name, tmpl, want, missing string
	}{
		{"plain text passes through", "Hello there", "Hello there", ""},
		{"a field", "Hello [firstname]", "Hello Ann", ""},
		{"several fields", "[firstname] [lastname] of [business] at [phone]", "Ann Lee of Acme at +15551234567", ""},
		{"names forgive case, spaces and underscores", "[First Name] [last_name] [Order Number]", "Ann Lee A-17", ""},
		{"a default is used when the field is missing", "Hi [nickname|friend]", "Hi friend", ""},
		{"a blank value counts as missing", "Hi [empty|you]", "Hi you", ""},
		{"a default is not used when the value exists", "Hi [firstname|there]", "Hi Ann", ""},
		{"an empty default is allowed", "Hi[nickname|]!", "Hi!", ""},
		{"a missing field without default is an error", "Hi [nickname]", "", "nickname"},
		{"brackets that are not tokens stay", "Price [$5] or [", "Price [$5] or [", ""},
		{"nested brackets keep the outer text", "[[firstname]]", "[Ann]", ""},
		{"a custom field", "Your order [ordernumber] is ready", "Your order A-17 is ready", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := template.Parse(tt.tmpl).Render(fields)
			var me *template.MissingError
			switch {
			case tt.missing != "":
				if !errors.As(err, &me) || me.Field != tt.missing {
					t.Errorf("error = %v, want missing %s", err, tt.missing)
				}
			case err != nil || got != tt.want:
				t.Errorf("Render = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

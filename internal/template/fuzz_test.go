package template_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/template"
)

// Templates come from clients: any text must parse, and rendering either fills every token or
// names the missing field.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"Hello [firstname|there]", "[[x]]", "[", "]", "[a|b|c]", "[ ]", "[é]", "50% [off]"} {
		f.Add(s, "Ann")
	}
	f.Fuzz(func(t *testing.T, tmpl, value string) {
		tp := template.Parse(tmpl)
		fields := map[string]string{}
		for _, k := range tp.Fields() {
			fields[k] = value
		}
		out, err := tp.Render(fields)
		var me *template.MissingError
		if err != nil && !errors.As(err, &me) {
			t.Fatalf("Render(%q) = %v", tmpl, err)
		}
		if err == nil && strings.TrimSpace(value) != "" && len(tp.Fields()) == 0 && out != tmpl {
			t.Fatalf("a template without tokens changed: %q → %q", tmpl, out)
		}
	})
}

package render

import (
	"os/exec"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/restorekit/restorekit/inventory"
)

// quotingCases are values a shell word must carry unchanged.
var quotingCases = []string{
	"", "ocp4", "master-0.prod-east.example.com", "/home/core/backup", "a b", "it's", `"quoted"`,
	"$(id)", "`id`", "${HOME}", "$HOME", ";rm -rf /", "a\nb", "\n", "tab\there", "$'x'", `back\slash`,
	"*", "?", "[a]", "{a,b}", "~", "~/x", "-n", "--", "!", "!!", "#comment", "a=b", "&", "|", "<x", ">x",
	"ü日本", "emoji 🙂", "\x01\x7f", "\xff\xfe", "'", "''", `'"'"'`, "\\'", "%s%d%%", "\r\n",
}

func TestShellQuoteRoundTrip(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not on PATH")
	}
	for _, v := range quotingCases {
		q, err := ShellQuote(v)
		if err != nil {
			t.Errorf("ShellQuote(%q): %v", v, err)
			continue
		}
		if strings.Contains(q, "\n") {
			t.Errorf("ShellQuote(%q) = %q spans lines (it must stay one word on one line, even in a comment)", v, q)
		}
		out, err := exec.Command("bash", "-c", "printf %s "+q).Output()
		if err != nil {
			t.Errorf("bash -c 'printf %%s %s': %v", q, err)
			continue
		}
		if string(out) != v {
			t.Errorf("printf %%s %s printed %q, want %q", q, out, v)
		}
	}
}

func TestShellQuoteTypes(t *testing.T) {
	tests := []struct {
		in   any
		want string
		err  string
	}{
		{"plain", "plain", ""},
		{"a b", "'a b'", ""},
		{42, "42", ""},
		{int64(388), "388", ""},
		{true, "true", ""},
		{inventory.Duration(10 * time.Minute), "600", ""},
		{inventory.Duration(1500 * time.Millisecond), "2", ""}, // seconds, rounded up
		{"nul\x00byte", "", "shq:"},
		{3.5, "", "shq: cannot quote a float64"},
		{[]string{"a"}, "", "shq: cannot quote a []string"},
		{nil, "", "shq: cannot quote a <nil>"},
	}
	for _, tt := range tests {
		got, err := ShellQuote(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ShellQuote(%#v): error %v, want one containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ShellQuote(%#v) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestFuncMapHasNoUnsafeFunctions(t *testing.T) {
	fm := FuncMap()
	for _, name := range []string{"quote", "squote", "env", "expandenv", "randAlphaNum", "randAlpha", "randAscii",
		"randNumeric", "randBytes", "randInt", "uuidv4", "genPrivateKey", "derivePassword", "bcrypt", "htpasswd", "getHostByName"} {
		if _, ok := fm[name]; ok {
			t.Errorf("FuncMap has %q", name)
		}
	}
	for _, name := range []string{"shq", "shwords", "ident", "join", "upper", "trimSuffix"} {
		if _, ok := fm[name]; !ok {
			t.Errorf("FuncMap lacks %q", name)
		}
	}
	// A template that reaches for sprig's quoting does not even parse.
	for _, src := range []string{`{{ quote .X }}`, `{{ squote .X }}`, `{{ env "HOME" }}`} {
		_, err := template.New("t").Funcs(fm).Parse(src)
		if err == nil || !strings.Contains(err.Error(), "not defined") {
			t.Errorf("%s: parse error %v, want 'function ... not defined'", src, err)
		}
	}
}

func TestTemplateFuncs(t *testing.T) {
	tests := []struct {
		src  string
		data any
		want string
		err  string
	}{
		{`X={{ shq .V }}`, map[string]any{"V": "it's $(id)"}, `X="it's \$(id)"`, ""},
		{`A=({{ shwords .V }})`, map[string]any{"V": []string{"a", "b c", "$x"}}, `A=(a 'b c' '$x')`, ""},
		{`A=({{ shwords .V }})`, map[string]any{"V": []string{}}, `A=()`, ""},
		{`A=({{ shwords .V }})`, map[string]any{"V": []string{"ok", "n\x00ul"}}, "", "shwords:"},
		{`A=({{ shwords .V }})`, map[string]any{"V": "not a list"}, "", "shwords: cannot quote a string"},
		{`f_{{ ident .V }}`, map[string]any{"V": "kube-apiserver-pod.yaml"}, `f_kube_apiserver_pod_yaml`, ""},
		{`f_{{ ident .V }}`, map[string]any{"V": "4.1"}, `f_4_1`, ""},
		{`f_{{ ident .V }}`, map[string]any{"V": "a;b"}, "", "ident:"},
		{`f_{{ ident .V }}`, map[string]any{"V": ""}, "", "ident: empty name"},
		{`{{ shq .V }}`, map[string]any{"V": "a\x00"}, "", "shq:"},
	}
	for _, tt := range tests {
		tmpl := template.Must(template.New("t").Funcs(FuncMap()).Option("missingkey=error").Parse(tt.src))
		var b strings.Builder
		err := tmpl.Execute(&b, tt.data)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s with %v: error %v, want one containing %q", tt.src, tt.data, err, tt.err)
			}
			continue
		}
		if err != nil || b.String() != tt.want {
			t.Errorf("%s with %v = %q, %v; want %q", tt.src, tt.data, b.String(), err, tt.want)
		}
	}
}

package promptrelease

import (
	"regexp"
	"testing"
)

func TestNothingOutsideTheDataIsReachable(t *testing.T) {
	out, err := RenderMustache("[{{t.Len}}][{{l.length}}][{{o.String}}]", map[string]any{
		"t": "abc", "l": []any{1, 2}, "o": map[string]any{"a": 1},
	})
	if err != nil || out != "[][][]" {
		t.Fatalf("%q %v", out, err)
	}
	if _, err := RenderMustache("{{#f}}x{{/f}}", map[string]any{"f": func(string) string { return "boom" }}); kindOf(err) != "value" {
		t.Fatalf("a lambda was accepted: %v", err)
	}
	if _, err := RenderMustache("{{> /etc/passwd}}", map[string]any{}); err == nil {
		t.Fatal("a partial was rendered")
	}
}

func TestMountedPromptTagsCountsAndMetrics(t *testing.T) {
	var files map[string]any
	for _, c := range cases(t, "payloads.json") {
		if c["name"] == "canary" {
			files = c["files"].(map[string]any)
		}
	}
	root := t.TempDir()
	layOut(t, root, 0, files)
	mounted, err := Mount(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	attributes := mounted.Current().TracingAttributes()
	if attributes["gen_ai.prompt.version"] != "kit-reload-v2" || attributes["promptrelease.revision"] != 2 {
		t.Fatalf("%v", attributes)
	}
	canary := 0
	for n := 0; n < 1000; n++ {
		chosen := mounted.Select("user-"+string(rune('a'+n%26))+string(rune('a'+n/26)), map[string]string{"plan": "enterprise", "region": "us"})
		if chosen.Variant == Canary {
			canary++
			if chosen.TracingAttributes()["promptrelease.variant"] != "canary" {
				t.Fatal("the candidate is not tagged canary")
			}
		}
	}
	if canary < 400 || canary > 600 {
		t.Fatalf("%d of 1000 at 50 %%", canary)
	}
	text := MetricsText(mounted)
	for _, pattern := range []string{
		`promptrelease_prompt_info\{prompt="kit-reload",label="production",version="kit-reload-v2",hash="sha256:[0-9a-f]{64}",revision="2"\} 1`,
		`promptrelease_prompt_selections_total\{prompt="kit-reload",label="production",variant="canary",version="kit-reload-v3",hash="sha256:[0-9a-f]{64}"\} \d+`,
	} {
		if !regexp.MustCompile(pattern).MatchString(text) {
			t.Fatalf("no %s in\n%s", pattern, text)
		}
	}
	if out, err := mounted.Current().Render(map[string]any{"customer": "Ada", "ticket": "t"}); err != nil || out != "v2: Answer Ada about: t" {
		t.Fatalf("%q %v", out, err)
	}
}

func TestTypedVariablesToolsAndResponseFormat(t *testing.T) {
	var files map[string]any
	for _, c := range cases(t, "payloads.json") {
		if c["name"] == "mustache-typed" {
			files = c["files"].(map[string]any)
		}
	}
	prompt, err := ParsePayload([]byte(files["prompt.json"].(string)), true)
	if err != nil {
		t.Fatal(err)
	}
	count := prompt.Inputs[1]
	if count.Name != "count" || count.Type != "integer" || count.Required || !count.HasDefault {
		t.Fatalf("%+v", count)
	}
	attributes := prompt.TracingAttributes()
	if attributes["promptrelease.tools"] != "lookup_order" || attributes["promptrelease.response_format"] != "summary" {
		t.Fatalf("%v", attributes)
	}
	if _, err := prompt.Render(map[string]any{"ticket": "t", "count": "5"}); kindOf(err) != "variables" {
		t.Fatalf("a string was taken for an integer: %v", err)
	}
	out, err := prompt.Render(map[string]any{"ticket": "t", "count": 4})
	if err != nil || !regexp.MustCompile(`^4 bullets for guest, score 0, urgent=false: t$`).MatchString(out) {
		t.Fatalf("%q %v", out, err)
	}
}

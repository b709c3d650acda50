package promptrelease

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
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

func TestOutcomesPerVariantVersionAndHash(t *testing.T) {
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
	stable, candidate := mounted.Current(), mounted.Candidate()
	score := 0.25
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(mounted.Record(stable, Outcome{Latency: 300 * time.Millisecond}))
	must(mounted.Record(candidate, Outcome{Error: true, Latency: 1500 * time.Millisecond, InputTokens: 120, OutputTokens: 40, Feedback: &score}))
	must(mounted.Track(candidate, func(call *Call) error { call.Tokens(10, 5); call.Cost(0.5); return nil }))
	if err := mounted.Track(candidate, func(*Call) error { return errors.New("the model timed out") }); err == nil {
		t.Fatal("Track lost work's error")
	}
	text := MetricsText(mounted)
	c := labels("prompt", "kit-reload", "label", "production", "variant", "canary", "version", candidate.Version, "hash", candidate.Hash)
	for _, want := range []string{
		`promptrelease_responses_total{` + c + `,outcome="error"} 2`,
		`promptrelease_responses_total{` + c + `,outcome="success"} 1`,
		`promptrelease_tokens_total{` + c + `,type="input"} 130`,
		`promptrelease_response_duration_seconds_bucket{` + c + `,le="+Inf"} 3`,
		`promptrelease_response_duration_seconds_bucket{` + c + `,le="0.08"} 2`,
		`promptrelease_feedback_score_count{` + c + `} 1`,
		`# TYPE promptrelease_response_duration_seconds histogram`,
		`variant="stable",version="` + stable.Version,
	} {
		if !strings.Contains(text, want) {
			t.Fatalf("no %s in\n%s", want, text)
		}
	}
	if err := mounted.Record(stable, Outcome{Cost: math.NaN()}); err == nil || !strings.Contains(err.Error(), "cost must be a finite number") {
		t.Fatalf("a NaN cost: %v", err)
	}
	other := *stable
	other.Name = "translator"
	if err := mounted.Record(&other, Outcome{}); err == nil || !strings.Contains(err.Error(), "is not this prompt") {
		t.Fatalf("another prompt's outcome: %v", err)
	}
	bounded := &Outcomes{}
	for n := 0; n < MaxVersions+2; n++ {
		p := *candidate
		p.Version = "v" + strconv.Itoa(n)
		must(bounded.Record(&p, Outcome{}))
	}
	if len(bounded.tallies) != MaxVersions || bounded.Evicted != 2 || bounded.tallies[0].version != "v2" {
		t.Fatalf("%d kept, %d evicted, oldest %s", len(bounded.tallies), bounded.Evicted, bounded.tallies[0].version)
	}
}

package promptrelease

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The conformance kit (conformance/ at the repository's root), run by the Go SDK: every case
// must pass, as in Python and TypeScript.

func kitDir() string {
	if dir := os.Getenv("PROMPT_RELEASE_KIT"); dir != "" {
		return dir
	}
	return filepath.Join("..", "..", "conformance")
}

func cases(t *testing.T, file string) []map[string]any {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(kitDir(), file))
	if err != nil {
		t.Fatal(err)
	}
	var kit struct {
		Cases []map[string]any `json:"cases"`
	}
	decoder := json.NewDecoder(strings.NewReader(string(text)))
	decoder.UseNumber()
	if err := decoder.Decode(&kit); err != nil {
		t.Fatal(err)
	}
	return kit.Cases
}

// plain re-decodes a value with float64 numbers, to compare with what the SDK returns.
func plain(t *testing.T, value any) any {
	t.Helper()
	text, err := json.Marshal(value)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(text, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func sha(text string) string {
	digest := sha256.Sum256([]byte(text))
	return hex.EncodeToString(digest[:])
}

func TestHashes(t *testing.T) {
	for _, c := range cases(t, "hashes.json") {
		t.Run(c["name"].(string), func(t *testing.T) {
			spec := c["spec"].(map[string]any)
			canonical, err := CanonicalJSON(WithoutNullMembers(spec))
			if err != nil {
				t.Fatal(err)
			}
			if want, ok := c["canonical"].(string); ok {
				if string(canonical) != want {
					t.Fatalf("canonical\n got %s\nwant %s", canonical, want)
				}
			} else if sha(string(canonical)) != c["canonicalSha256"] {
				t.Fatalf("canonical form's sha256 differs")
			}
			hash, err := ContentHash(spec)
			if err != nil || hash != c["hash"] {
				t.Fatalf("hash %s (%v), want %s", hash, err, c["hash"])
			}
		})
	}
}

func kindOf(err error) string {
	var payload *PayloadError
	var render *RenderError
	switch {
	case errors.As(err, &payload):
		return string(payload.Kind)
	case errors.As(err, &render):
		return string(render.Kind)
	}
	return "unexpected: " + err.Error()
}

func expectedPayload(files map[string]any) map[string]any {
	prompt, err := ParsePayload([]byte(files["prompt.json"].(string)), true)
	if err != nil {
		return map[string]any{"error": kindOf(err)}
	}
	variables := []any{}
	for _, name := range prompt.Variables {
		variables = append(variables, name)
	}
	found := map[string]any{
		"prompt": prompt.Name, "label": prompt.Label, "version": prompt.Version, "hash": prompt.Hash,
		"revision": float64(prompt.Revision), "templateFormat": prompt.TemplateFormat,
		"portable": prompt.Portable(), "variables": variables, "canary": nil,
	}
	if str(prompt.Payload["format"]) == "2" || len(prompt.Tools) > 0 || prompt.ResponseFormat != nil {
		inputs := []any{}
		for _, v := range prompt.Inputs {
			inputs = append(inputs, map[string]any{"name": v.Name, "type": v.Type, "required": v.Required})
		}
		tools := []any{}
		for _, tool := range prompt.Tools {
			function, _ := tool["function"].(map[string]any)
			tools = append(tools, str(function["name"]))
		}
		var responseFormat any
		if prompt.ResponseFormat != nil {
			responseFormat = prompt.ResponseFormat["name"]
		}
		found["contract"] = map[string]any{"inputs": inputs, "tools": tools, "responseFormat": responseFormat}
	}
	if text, ok := files["canary.json"].(string); ok {
		canary, err := ParseCanary([]byte(text), true)
		if err != nil {
			found["canaryError"] = kindOf(err)
		} else {
			found["canary"] = map[string]any{"version": canary.Prompt.Version, "hash": canary.Prompt.Hash, "weight": canary.Split.Weight}
		}
	}
	return found
}

func TestPayloads(t *testing.T) {
	for _, c := range cases(t, "payloads.json") {
		t.Run(c["name"].(string), func(t *testing.T) {
			found := plain(t, expectedPayload(c["files"].(map[string]any)))
			if want := plain(t, c["expect"]); !reflect.DeepEqual(found, want) {
				t.Fatalf("\n got %v\nwant %v", found, want)
			}
		})
	}
}

func TestRenders(t *testing.T) {
	payloads := map[string]string{}
	for _, c := range cases(t, "payloads.json") {
		payloads[c["name"].(string)] = c["files"].(map[string]any)["prompt.json"].(string)
	}
	for _, c := range cases(t, "renders.json") {
		t.Run(c["name"].(string), func(t *testing.T) {
			prompt, err := ParsePayload([]byte(payloads[c["payload"].(string)]), true)
			if err != nil {
				t.Fatal(err)
			}
			variables := c["variables"].(map[string]any)
			want := c["expect"].(map[string]any)
			if c["pythonOnly"] == true {
				want = map[string]any{"error": "not-portable"}
			}
			var found map[string]any
			if prompt.IsChat() {
				messages, err := prompt.RenderMessages(variables)
				if err != nil {
					found = map[string]any{"error": kindOf(err)}
				} else {
					found = map[string]any{"messages": messages}
				}
			} else {
				output, err := prompt.Render(variables)
				switch {
				case err != nil:
					found = map[string]any{"error": kindOf(err)}
				case want["output"] != nil:
					found = map[string]any{"output": output}
				default:
					found = map[string]any{"outputSha256": sha(output), "outputLength": len(output)}
				}
			}
			if got, wanted := plain(t, found), plain(t, want); !reflect.DeepEqual(got, wanted) {
				t.Fatalf("\n got %q\nwant %q", got, wanted)
			}
		})
	}
}

func TestAssignments(t *testing.T) {
	for _, c := range cases(t, "assignments.json") {
		t.Run(c["name"].(string), func(t *testing.T) {
			canary, err := ParseCanary([]byte(c["canary"].(string)), true)
			if err != nil {
				t.Fatal(err)
			}
			attributes := map[string]string{}
			for key, value := range c["attributes"].(map[string]any) {
				attributes[key] = value.(string)
			}
			keys := c["keys"].(map[string]any)
			count, _ := keys["count"].(json.Number).Int64()
			var chosen strings.Builder
			candidates := 0
			for n := 0; n < int(count); n++ {
				if canary.Split.ServesCandidate(fmt.Sprintf("%s%d", keys["prefix"], n), attributes) {
					chosen.WriteByte('1')
					candidates++
				} else {
					chosen.WriteByte('0')
				}
			}
			expect := c["expect"].(map[string]any)
			weight, _ := expect["weight"].(json.Number).Float64()
			if canary.Split.WeightFor(attributes) != weight {
				t.Fatalf("weight %v, want %v", canary.Split.WeightFor(attributes), weight)
			}
			if chosen.String() != expect["assignment"] {
				t.Fatalf("assignment differs (%d candidates, want %v)", candidates, expect["candidates"])
			}
		})
	}
}

// layOut writes files as the kubelet lays out a ConfigMap volume: `..data` -> a timestamped folder.
func layOut(t *testing.T, root string, step int, files map[string]any) {
	t.Helper()
	stamp := fmt.Sprintf("..2026_01_01_00_00_%02d.%d", step, os.Getpid())
	if err := os.Mkdir(filepath.Join(root, stamp), 0o755); err != nil {
		t.Fatal(err)
	}
	for key, text := range files {
		if err := os.WriteFile(filepath.Join(root, stamp, key), []byte(text.(string)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(stamp, filepath.Join(root, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "..data_tmp"), filepath.Join(root, "..data")); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{PayloadFile, CanaryFile} {
		if _, err := os.Lstat(filepath.Join(root, key)); err != nil {
			_ = os.Symlink(filepath.Join("..data", key), filepath.Join(root, key))
		}
	}
}

func TestReloads(t *testing.T) {
	for _, c := range cases(t, "reloads.json") {
		t.Run(c["name"].(string), func(t *testing.T) {
			root := t.TempDir()
			var mounted *MountedPrompt
			for n, raw := range c["steps"].([]any) {
				step := raw.(map[string]any)
				layOut(t, root, n, step["files"].(map[string]any))
				if mounted == nil {
					var err error
					if mounted, err = Mount(root, Options{CheckInterval: -time.Nanosecond}); err != nil {
						t.Fatal(err)
					}
				}
				current := mounted.Current()
				found := map[string]any{"version": current.Version, "hash": current.Hash, "canary": nil}
				if candidate := mounted.Candidate(); candidate != nil {
					found["canary"] = candidate.Version
				}
				if got, want := plain(t, found), plain(t, step["expect"]); !reflect.DeepEqual(got, want) {
					t.Fatalf("%s:\n got %v\nwant %v", step["name"], got, want)
				}
			}
		})
	}
}

func TestATamperedPayloadIsRefusedAtStart(t *testing.T) {
	for _, c := range cases(t, "payloads.json") {
		if c["name"] != "tampered-template" {
			continue
		}
		root := t.TempDir()
		layOut(t, root, 0, c["files"].(map[string]any))
		if _, err := Mount(root, Options{}); err == nil || kindOf(err) != "hash" {
			t.Fatalf("mounted a tampered payload: %v", err)
		}
		return
	}
	t.Fatal("no tampered-template case in the kit")
}

func TestConsumers(t *testing.T) {
	payloads := map[string]map[string]any{}
	for _, c := range cases(t, "payloads.json") {
		payloads[c["name"].(string)] = c["files"].(map[string]any)
	}
	for _, c := range cases(t, "consumers.json") {
		t.Run(c["name"].(string), func(t *testing.T) {
			expect := c["expect"].(map[string]any)
			if format, ok := c["responseFormat"].(map[string]any); ok {
				hash, err := ResponseFormatHash(format)
				if err != nil || hash != expect["hash"] {
					t.Fatalf("hash %s (%v), want %s", hash, err, expect["hash"])
				}
				return
			}
			prompt, err := ParsePayload([]byte(payloads[c["payload"].(string)]["prompt.json"].(string)), true)
			if err != nil {
				t.Fatal(err)
			}
			var supplies []string
			if listed, ok := c["supplies"].([]any); ok {
				supplies = []string{}
				for _, name := range listed {
					supplies = append(supplies, name.(string))
				}
			}
			found, err := ConsumerAnnotations(prompt, supplies)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for key, value := range expect["annotations"].(map[string]any) {
				want[key] = value.(string)
			}
			if !reflect.DeepEqual(found, want) {
				t.Fatalf("annotations\n got %v\nwant %v", found, want)
			}
		})
	}
}

var outcomeFamilies = []string{
	"promptrelease_responses",
	"promptrelease_response_duration_seconds",
	"promptrelease_tokens",
	"promptrelease_cost",
	"promptrelease_feedback_score",
}

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
var labelPair = regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)

// outcomeSamples are the samples of an exposition in the outcome metrics' families, in order.
func outcomeSamples(t *testing.T, text string) []map[string]any {
	t.Helper()
	found := []map[string]any{}
	for _, line := range strings.Split(text, "\n") {
		match := sampleLine.FindStringSubmatch(line)
		if match == nil {
			continue
		}
		ours := false
		for _, family := range outcomeFamilies {
			ours = ours || match[1] == family || strings.HasPrefix(match[1], family+"_")
		}
		if !ours {
			continue
		}
		labels := map[string]any{}
		for _, pair := range labelPair.FindAllStringSubmatch(match[2], -1) {
			labels[pair[1]] = pair[2]
		}
		value, err := strconv.ParseFloat(match[3], 64)
		if err != nil {
			t.Fatal(err)
		}
		found = append(found, map[string]any{"name": match[1], "labels": labels, "value": value})
	}
	return found
}

// field is a number of a case (json.Number, as cases decodes them), 0 when absent.
func field(found map[string]any, key string) float64 {
	number, _ := found[key].(json.Number)
	value, _ := number.Float64()
	return value
}

func TestOutcomes(t *testing.T) {
	payloads := map[string]map[string]any{}
	for _, c := range cases(t, "payloads.json") {
		payloads[c["name"].(string)] = c["files"].(map[string]any)
	}
	for _, c := range cases(t, "outcomes.json") {
		t.Run(c["name"].(string), func(t *testing.T) {
			root := t.TempDir()
			files := payloads[c["payload"].(string)]
			layOut(t, root, 0, map[string]any{"prompt.json": files["prompt.json"]})
			mounted, err := Mount(root, Options{CheckInterval: -time.Nanosecond})
			if err != nil {
				t.Fatal(err)
			}
			chosen := mounted.Current()
			for _, raw := range c["steps"].([]any) {
				step := raw.(map[string]any)
				if _, ok := step["feedback"]; ok {
					err = mounted.Feedback(chosen, field(step, "feedback"))
				} else {
					found := step["record"].(map[string]any)
					success, given := found["success"].(bool)
					err = mounted.Record(chosen, Outcome{
						Error:        given && !success,
						Latency:      time.Duration(field(found, "latency") * float64(time.Second)),
						InputTokens:  int(field(found, "inputTokens")),
						OutputTokens: int(field(found, "outputTokens")),
						Cost:         field(found, "cost"),
					})
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			found := outcomeSamples(t, MetricsText(mounted))
			want := c["expect"].(map[string]any)["samples"].([]any)
			if len(found) != len(want) {
				t.Fatalf("%d samples, want %d:\n%v", len(found), len(want), found)
			}
			for n, raw := range want {
				expected := raw.(map[string]any)
				same := found[n]["name"] == expected["name"] &&
					reflect.DeepEqual(found[n]["labels"], expected["labels"]) &&
					math.Abs(found[n]["value"].(float64)-field(expected, "value")) < 1e-9
				if !same {
					t.Fatalf("sample %d:\n got %v\nwant %v", n, found[n], expected)
				}
			}
		})
	}
}

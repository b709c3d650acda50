package promptrelease

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

const (
	// Metric is the info gauge: the prompt a process serves now (always 1).
	Metric = "promptrelease_prompt_info"
	// SelectionsMetric counts what Select chose per variant.
	SelectionsMetric = "promptrelease_prompt_selections_total"
)

// InfoEntry is one prompt a process serves.
type InfoEntry struct {
	Prompt   string `json:"prompt"`
	Label    string `json:"label"`
	Version  string `json:"version"`
	Hash     string `json:"hash"`
	Revision int    `json:"revision"`
}

// Info is every prompt this process serves, with its exact version and hash.
func Info(prompts ...*MountedPrompt) map[string][]InfoEntry {
	entries := []InfoEntry{}
	for _, mounted := range prompts {
		p := mounted.Current()
		entries = append(entries, InfoEntry{p.Name, p.Label, p.Version, p.Hash, p.Revision})
	}
	return map[string][]InfoEntry{"prompts": entries}
}

var escaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

func labels(pairs ...string) string {
	parts := make([]string, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		parts = append(parts, fmt.Sprintf(`%s="%s"`, pairs[i], escaper.Replace(pairs[i+1])))
	}
	return strings.Join(parts, ",")
}

// MetricsText is the Prometheus text exposition of what the prompts serve and Select chose.
func MetricsText(prompts ...*MountedPrompt) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# HELP %s The prompt this process serves now (always 1).\n# TYPE %s gauge\n", Metric, Metric)
	for _, entry := range Info(prompts...)["prompts"] {
		fmt.Fprintf(&b, "%s{%s} 1\n", Metric, labels("prompt", entry.Prompt, "label", entry.Label, "version", entry.Version, "hash", entry.Hash, "revision", fmt.Sprint(entry.Revision)))
	}
	header := false
	for _, mounted := range prompts {
		current := mounted.Current()
		for _, s := range mounted.Selections() {
			if !header {
				fmt.Fprintf(&b, "# HELP %s Requests select() gave each variant (stable or canary).\n# TYPE %s counter\n", SelectionsMetric, SelectionsMetric)
				header = true
			}
			fmt.Fprintf(&b, "%s{%s} %d\n", SelectionsMetric, labels("prompt", current.Name, "label", current.Label, "variant", s.Variant, "version", s.Version, "hash", s.Hash), s.Count)
		}
	}
	b.WriteString(exposition(prompts...))
	return b.String()
}

// Handler serves GET /metrics (Prometheus text) and GET /prompts (JSON).
func Handler(prompts ...*MountedPrompt) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, MetricsText(prompts...))
	})
	mux.HandleFunc("/prompts", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(Info(prompts...))
	})
	return mux
}

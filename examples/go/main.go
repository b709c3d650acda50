// A workload that serves a mounted prompt: each response carries the version and hash that
// produced it. The prompt hot-reloads when the kubelet swaps the ConfigMap.
//
//	PROMPT_DIR=/etc/prompts/ticket-summarizer PORT=8080 go run .
//	curl -s localhost:8080/render -d '{"variables": {"ticket": "Printer on fire"}}'
//	curl -s localhost:8080/render -d '{"key": "user-42", "variables": {...}}'   # canary: sticky per key
//	curl -s localhost:8080/metrics
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	promptrelease "promptrelease.io/sdk/go"
)

type request struct {
	Key        *string           `json:"key"`
	Attributes map[string]string `json:"attributes"`
	Variables  map[string]any    `json:"variables"`
	Keys       []string          `json:"keys"`
}

func reply(w http.ResponseWriter, status int, value any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(value)
}

func failed(w http.ResponseWriter, err error) {
	kind := "malformed"
	var render *promptrelease.RenderError
	if errors.As(err, &render) {
		kind = string(render.Kind)
	}
	reply(w, http.StatusBadRequest, map[string]string{"error": err.Error(), "kind": kind})
}

func main() {
	directory := os.Getenv("PROMPT_DIR")
	if directory == "" {
		directory = "/etc/prompts/ticket-summarizer"
	}
	interval := time.Second
	if seconds, err := strconv.ParseFloat(os.Getenv("CHECK_INTERVAL"), 64); err == nil {
		interval = time.Duration(seconds * float64(time.Second))
		if interval == 0 {
			interval = -1 // check on every access
		}
	}
	prompt, err := promptrelease.Mount(directory, promptrelease.Options{CheckInterval: interval})
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot serve %s: %v\n", directory, err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promptrelease.Handler(prompt))
	mux.Handle("/prompts", promptrelease.Handler(prompt))
	mux.HandleFunc("POST /render", func(w http.ResponseWriter, r *http.Request) {
		var body request
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			failed(w, err)
			return
		}
		// one snapshot for this request: rendered and tagged with the same version
		chosen := prompt.Current()
		if body.Key != nil {
			chosen = prompt.Select(*body.Key, body.Attributes)
		}
		out := map[string]any{"attributes": chosen.TracingAttributes()}
		if chosen.IsChat() {
			messages, err := chosen.RenderMessages(body.Variables)
			if err != nil {
				failed(w, err)
				return
			}
			out["messages"] = messages
		} else {
			text, err := chosen.Render(body.Variables)
			if err != nil {
				failed(w, err)
				return
			}
			out["output"] = text
		}
		slog.Info("rendered", "gen_ai.prompt.version", chosen.Version, "promptrelease.hash", chosen.Hash)
		reply(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /select", func(w http.ResponseWriter, r *http.Request) {
		var body request
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			failed(w, err)
			return
		}
		canary := []string{}
		for _, key := range body.Keys {
			if prompt.Select(key, body.Attributes).Variant == promptrelease.Canary {
				canary = append(canary, key)
			}
		}
		reply(w, http.StatusOK, map[string]any{"canary": canary})
	})
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	listener, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	current := prompt.Current()
	fmt.Printf("listening on %d: %s %s (%s)\n", listener.Addr().(*net.TCPAddr).Port, current.Name, current.Version, current.Hash)
	fmt.Fprintln(os.Stderr, http.Serve(listener, mux))
	os.Exit(1)
}

package promptrelease

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The outcome metrics: the same names, labels and buckets as the Python and TypeScript SDKs.
const (
	ResponsesMetric = "promptrelease_responses_total"
	DurationMetric  = "promptrelease_response_duration_seconds"
	TokensMetric    = "promptrelease_tokens_total"
	CostMetric      = "promptrelease_cost_total"
	FeedbackMetric  = "promptrelease_feedback_score"
	// MaxVersions is how many (variant, version, hash) sets a prompt keeps, least recently
	// used dropped first, so the series stay bounded.
	MaxVersions = 16
)

// DurationBuckets are seconds: OpenTelemetry's advice for gen_ai.client.operation.duration.
var DurationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}

// Outcome is what happened with one response. The zero value is a success with nothing
// measured; a zero Latency means it wasn't measured.
type Outcome struct {
	Error        bool
	Latency      time.Duration
	InputTokens  int
	OutputTokens int
	Cost         float64
	Feedback     *float64
}

// Call is what Track's function learns about its response.
type Call struct {
	failed                    bool
	inputTokens, outputTokens int
	cost                      float64
}

// Tokens records the tokens in (prompt) and out (completion).
func (c *Call) Tokens(input, output int) { c.inputTokens, c.outputTokens = input, output }

// Cost records what the response cost, in the workload's unit.
func (c *Call) Cost(amount float64) { c.cost = amount }

// Fail makes the response an error though the function returns nil.
func (c *Call) Fail() { c.failed = true }

type tally struct {
	variant, version, hash    string
	success, errors           int
	buckets                   []int
	durationSum               float64
	durationCount             int
	inputTokens, outputTokens int
	cost, feedbackSum         float64
	feedbackCount             int
}

// Outcomes are the outcome metrics of one prompt in this process. Safe for concurrent use.
type Outcomes struct {
	mu      sync.Mutex
	tallies []*tally // least recently used first
	Evicted int
}

func checkOutcome(o Outcome) error {
	switch {
	case o.Latency < 0:
		return fmt.Errorf("latency must be >= 0, not %v", o.Latency)
	case o.InputTokens < 0:
		return fmt.Errorf("input tokens must be >= 0, not %d", o.InputTokens)
	case o.OutputTokens < 0:
		return fmt.Errorf("output tokens must be >= 0, not %d", o.OutputTokens)
	case math.IsNaN(o.Cost) || math.IsInf(o.Cost, 0) || o.Cost < 0:
		return fmt.Errorf("cost must be a finite number >= 0, not %v", o.Cost)
	case o.Feedback != nil && (math.IsNaN(*o.Feedback) || math.IsInf(*o.Feedback, 0)):
		return fmt.Errorf("feedback must be a finite number, not %v", *o.Feedback)
	}
	return nil
}

// Record counts one response served from chosen; an error names a bad number (nothing counted).
func (o *Outcomes) Record(chosen *Prompt, outcome Outcome) error {
	if err := checkOutcome(outcome); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	t := o.tally(chosen)
	if outcome.Error {
		t.errors++
	} else {
		t.success++
	}
	if outcome.Latency > 0 {
		seconds := outcome.Latency.Seconds()
		for i, bound := range DurationBuckets {
			if seconds <= bound {
				t.buckets[i]++
			}
		}
		t.durationSum += seconds
		t.durationCount++
	}
	t.inputTokens += outcome.InputTokens
	t.outputTokens += outcome.OutputTokens
	t.cost += outcome.Cost
	if outcome.Feedback != nil {
		t.feedbackSum += *outcome.Feedback
		t.feedbackCount++
	}
	return nil
}

// Feedback adds a score given later to a response served from chosen.
func (o *Outcomes) Feedback(chosen *Prompt, score float64) error {
	if math.IsNaN(score) || math.IsInf(score, 0) {
		return fmt.Errorf("feedback must be a finite number, not %v", score)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	t := o.tally(chosen)
	t.feedbackSum += score
	t.feedbackCount++
	return nil
}

// Track times work; an error it returns (or Call.Fail) records an error outcome. It returns
// work's error.
func (o *Outcomes) Track(chosen *Prompt, work func(call *Call) error) error {
	call := &Call{}
	started := time.Now()
	err := work(call)
	recorded := o.Record(chosen, Outcome{
		Error:        err != nil || call.failed,
		Latency:      max(time.Since(started), time.Nanosecond),
		InputTokens:  call.inputTokens,
		OutputTokens: call.outputTokens,
		Cost:         call.cost,
	})
	return errors.Join(err, recorded)
}

func (o *Outcomes) tally(chosen *Prompt) *tally {
	variant := chosen.Variant
	if variant == "" {
		variant = Stable
	}
	for i, t := range o.tallies {
		if t.variant == variant && t.version == chosen.Version && t.hash == chosen.Hash {
			o.tallies = append(append(o.tallies[:i:i], o.tallies[i+1:]...), t)
			return t
		}
	}
	t := &tally{variant: variant, version: chosen.Version, hash: chosen.Hash, buckets: make([]int, len(DurationBuckets))}
	o.tallies = append(o.tallies, t)
	for len(o.tallies) > MaxVersions {
		o.tallies = o.tallies[1:]
		o.Evicted++
	}
	return t
}

func sample(value float64) string { return strconv.FormatFloat(value, 'g', -1, 64) }

// exposition is the HELP, TYPE and samples of every prompt's outcomes.
func exposition(prompts ...*MountedPrompt) string {
	families := map[string][]string{}
	for _, mounted := range prompts {
		current := mounted.Current()
		mounted.outcomes.mu.Lock()
		for _, t := range mounted.outcomes.tallies {
			base := labels("prompt", current.Name, "label", current.Label, "variant", t.variant, "version", t.version, "hash", t.hash)
			families[ResponsesMetric] = append(families[ResponsesMetric],
				fmt.Sprintf("%s{%s,outcome=\"success\"} %d", ResponsesMetric, base, t.success),
				fmt.Sprintf("%s{%s,outcome=\"error\"} %d", ResponsesMetric, base, t.errors))
			for i, bound := range DurationBuckets {
				families[DurationMetric] = append(families[DurationMetric], fmt.Sprintf("%s_bucket{%s,le=\"%s\"} %d", DurationMetric, base, sample(bound), t.buckets[i]))
			}
			families[DurationMetric] = append(families[DurationMetric],
				fmt.Sprintf("%s_bucket{%s,le=\"+Inf\"} %d", DurationMetric, base, t.durationCount),
				fmt.Sprintf("%s_sum{%s} %s", DurationMetric, base, sample(t.durationSum)),
				fmt.Sprintf("%s_count{%s} %d", DurationMetric, base, t.durationCount))
			families[TokensMetric] = append(families[TokensMetric],
				fmt.Sprintf("%s{%s,type=\"input\"} %d", TokensMetric, base, t.inputTokens),
				fmt.Sprintf("%s{%s,type=\"output\"} %d", TokensMetric, base, t.outputTokens))
			families[CostMetric] = append(families[CostMetric], fmt.Sprintf("%s{%s} %s", CostMetric, base, sample(t.cost)))
			families[FeedbackMetric] = append(families[FeedbackMetric],
				fmt.Sprintf("%s_sum{%s} %s", FeedbackMetric, base, sample(t.feedbackSum)),
				fmt.Sprintf("%s_count{%s} %d", FeedbackMetric, base, t.feedbackCount))
		}
		mounted.outcomes.mu.Unlock()
	}
	var b strings.Builder
	for _, family := range [][3]string{
		{ResponsesMetric, "counter", "Responses served from each prompt version, by outcome."},
		{DurationMetric, "histogram", "Seconds each response took."},
		{TokensMetric, "counter", "Tokens in (prompt) and out (completion) per prompt version."},
		{CostMetric, "counter", "What the responses cost, in the workload's unit."},
		{FeedbackMetric, "summary", "Feedback scores given to the responses."},
	} {
		if samples := families[family[0]]; len(samples) > 0 {
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s\n", family[0], family[2], family[0], family[1], strings.Join(samples, "\n"))
		}
	}
	return b.String()
}

func (m *MountedPrompt) own(chosen *Prompt) error {
	current := m.Current()
	if chosen.Name != current.Name || chosen.Label != current.Label {
		return fmt.Errorf("%s/%s is not this prompt (%s/%s)", chosen.Name, chosen.Label, current.Name, current.Label)
	}
	return nil
}

// Record counts one response served from chosen (what Select or Current returned).
func (m *MountedPrompt) Record(chosen *Prompt, outcome Outcome) error {
	if err := m.own(chosen); err != nil {
		return err
	}
	return m.outcomes.Record(chosen, outcome)
}

// Track times one response served from chosen; an error from work records an error outcome.
func (m *MountedPrompt) Track(chosen *Prompt, work func(call *Call) error) error {
	if err := m.own(chosen); err != nil {
		return err
	}
	return m.outcomes.Track(chosen, work)
}

// Feedback adds a score given later to a response served from chosen.
func (m *MountedPrompt) Feedback(chosen *Prompt, score float64) error {
	if err := m.own(chosen); err != nil {
		return err
	}
	return m.outcomes.Feedback(chosen, score)
}

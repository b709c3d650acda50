package promptrelease

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

const (
	PayloadFile   = "prompt.json"
	CanaryFile    = "canary.json"
	PayloadFormat = 1
	// TypedFormat is the format of a payload whose variables hold typed entries.
	TypedFormat = 2
	// ComposedFormat is the format of a payload composed from includes: its "source" holds
	// the texts and pins as written, which its hash covers.
	ComposedFormat = 3
	CanaryFormat   = 1
	// Buckets per key space: one is 0.001 %.
	Buckets = 100_000
	Stable  = "stable"
	Canary  = "canary"
)

// Prompt is one released prompt, exactly as the operator wrote it. Treat it as immutable.
type Prompt struct {
	Name           string
	Label          string
	Version        string
	Hash           string
	Revision       int
	ReleasedAt     string
	Changelog      string
	TemplateFormat string
	// Variables are the declared variables' names; Inputs the variables themselves.
	Variables []string
	Inputs    []Variable
	// Tools are the function definitions the model may call, as the version declares them.
	Tools []map[string]any
	// ResponseFormat is {name, schema, ...}: the JSON Schema a model's output must satisfy.
	ResponseFormat map[string]any
	Model          map[string]any
	Template       *string
	Messages       []map[string]any
	Payload        map[string]any
	// Variant is "stable" or "canary" when Select chose it; "" for a plain read.
	Variant string
}

// IsChat says whether the prompt is a chat prompt (messages) rather than a text one.
func (p *Prompt) IsChat() bool { return p.Messages != nil }

// Portable says whether every SDK renders this prompt alike (mustache).
func (p *Prompt) Portable() bool { return IsPortable(p.TemplateFormat) }

func (p *Prompt) withVariant(variant string) *Prompt {
	copied := *p
	copied.Variant = variant
	return &copied
}

func (p *Prompt) check(variables map[string]any) (map[string]any, error) {
	if !p.Portable() {
		return nil, renderError(KindNotPortable, "%s %s: templateFormat %s renders in Python only; use mustache", p.Name, p.Version, p.TemplateFormat)
	}
	bound, err := BindVariables(p.Inputs, variables)
	return bound, p.named(err)
}

func (p *Prompt) named(err error) error {
	if failed, ok := err.(*RenderError); ok {
		return renderError(failed.Kind, "%s %s: %s", p.Name, p.Version, failed.Message)
	}
	return err
}

// Render fills a text prompt's variables.
func (p *Prompt) Render(variables map[string]any) (string, error) {
	if p.Template == nil {
		return "", renderError(KindValue, "%s is a chat prompt: use RenderMessages", p.Name)
	}
	bound, err := p.check(variables)
	if err != nil {
		return "", err
	}
	out, err := RenderMustache(*p.Template, bound)
	return out, p.named(err)
}

// RenderMessages fills a chat prompt's variables, message by message.
func (p *Prompt) RenderMessages(variables map[string]any) ([]map[string]any, error) {
	if p.Messages == nil {
		return nil, renderError(KindValue, "%s is a text prompt: use Render", p.Name)
	}
	bound, err := p.check(variables)
	if err != nil {
		return nil, err
	}
	rendered := make([]map[string]any, len(p.Messages))
	for i, message := range p.Messages {
		content, _ := message["content"].(string)
		out, err := RenderMustache(content, bound)
		if err != nil {
			return nil, p.named(err)
		}
		copied := make(map[string]any, len(message))
		for key, value := range message {
			copied[key] = value
		}
		copied["content"] = out
		rendered[i] = copied
	}
	return rendered, nil
}

// TracingAttributes are span attributes: OpenTelemetry GenAI names where they exist
// (gen_ai.prompt.name, gen_ai.prompt.version), ours for the rest. Values are string or int.
func (p *Prompt) TracingAttributes() map[string]any {
	attributes := map[string]any{
		"gen_ai.prompt.name":     p.Name,
		"gen_ai.prompt.version":  p.Version,
		"promptrelease.hash":     p.Hash,
		"promptrelease.label":    p.Label,
		"promptrelease.revision": p.Revision,
	}
	if p.Variant != "" {
		attributes["promptrelease.variant"] = p.Variant
	}
	var names []string
	for _, tool := range p.Tools {
		function, _ := tool["function"].(map[string]any)
		names = append(names, str(function["name"]))
	}
	if len(names) > 0 {
		attributes["promptrelease.tools"] = strings.Join(names, ",")
	}
	if p.ResponseFormat != nil {
		name := str(p.ResponseFormat["name"])
		if name == "" {
			name = p.Name
		}
		attributes["promptrelease.response_format"] = name
	}
	return attributes
}

func documentOf(text []byte, file string, formats ...int) (map[string]any, error) {
	decoded, err := DecodeJSON(text)
	if err != nil {
		return nil, payloadError(KindMalformed, "%s is not valid JSON: %v", file, err)
	}
	document, ok := decoded.(map[string]any)
	if !ok {
		return nil, payloadError(KindMalformed, "%s must hold a JSON object", file)
	}
	found, _ := document["format"].(json.Number)
	var readable []string
	for _, format := range formats {
		if string(found) == strconv.Itoa(format) {
			return document, nil
		}
		readable = append(readable, strconv.Itoa(format))
	}
	return nil, payloadError(KindFormat, "%s has format %v; this SDK reads format %s: upgrade the SDK", file, document["format"], strings.Join(readable, " or "))
}

func readablePayloadFormat(format string) bool {
	for _, known := range []int{PayloadFormat, TypedFormat, ComposedFormat} {
		if format == strconv.Itoa(known) {
			return true
		}
	}
	return false
}

func verify(payload map[string]any) error {
	fields, ok := payload["specFields"].([]any)
	if !ok {
		return payloadError(KindHash, "%s lacks specFields: cannot verify its hash", PayloadFile)
	}
	source := map[string]any{}
	if found, present := payload["source"]; present && found != nil {
		written, ok := found.(map[string]any)
		if !ok {
			return payloadError(KindHash, "%s: source must be an object", PayloadFile)
		}
		source = written
	}
	spec := map[string]any{}
	for _, field := range fields {
		name := fmt.Sprint(field)
		if value, ok := source[name]; ok {
			spec[name] = value
			continue
		}
		value, ok := payload[name]
		if !ok {
			return payloadError(KindHash, "%s cannot be re-hashed: no %s", PayloadFile, name)
		}
		spec[name] = value
	}
	computed, err := ContentHash(spec)
	if err != nil {
		return payloadError(KindHash, "%s cannot be re-hashed: %v", PayloadFile, err)
	}
	if computed != payload["hash"] {
		return payloadError(KindHash, "%s was altered: its content hashes to %s, not %v", PayloadFile, computed, payload["hash"])
	}
	if found, present := payload["source"]; present && found != nil {
		return verifyComposed(payload)
	}
	return nil
}

// verifyComposed checks a composed payload's served texts against its composedHash.
func verifyComposed(payload map[string]any) error {
	key := "messages"
	if _, ok := payload["template"]; ok {
		key = "template"
	}
	composed, err := ContentHash(map[string]any{key: payload[key]})
	if err != nil {
		return payloadError(KindHash, "%s cannot be re-hashed: %v", PayloadFile, err)
	}
	if composed != payload["composedHash"] {
		return payloadError(KindHash, "%s was altered: its composed text hashes to %s, not %v", PayloadFile, composed, payload["composedHash"])
	}
	return nil
}

func str(value any) string {
	if value == nil {
		return ""
	}
	return fmt.Sprint(value)
}

func promptOf(payload map[string]any) (*Prompt, error) {
	for _, key := range []string{"prompt", "label", "version", "hash", "revision"} {
		if _, ok := payload[key]; !ok {
			return nil, payloadError(KindMalformed, "%s lacks the key '%s'", PayloadFile, key)
		}
	}
	revision, err := strconv.Atoi(str(payload["revision"]))
	if err != nil {
		return nil, payloadError(KindMalformed, "%s: revision %v is not an integer", PayloadFile, payload["revision"])
	}
	prompt := &Prompt{
		Name:           str(payload["prompt"]),
		Label:          str(payload["label"]),
		Version:        str(payload["version"]),
		Hash:           str(payload["hash"]),
		Revision:       revision,
		ReleasedAt:     str(payload["releasedAt"]),
		Changelog:      str(payload["changelog"]),
		TemplateFormat: str(payload["templateFormat"]),
		Payload:        payload,
	}
	if prompt.TemplateFormat == "" {
		prompt.TemplateFormat = "f-string"
	}
	entries, isList := payload["variables"].([]any)
	if !isList && payload["variables"] != nil {
		return nil, payloadError(KindMalformed, "%s: variables must be a list", PayloadFile)
	}
	prompt.Inputs = DeclaredVariables(entries)
	for _, variable := range prompt.Inputs {
		prompt.Variables = append(prompt.Variables, variable.Name)
	}
	if tools, ok := payload["tools"].([]any); ok {
		for _, tool := range tools {
			if definition, isObject := tool.(map[string]any); isObject {
				prompt.Tools = append(prompt.Tools, definition)
			}
		}
	}
	prompt.ResponseFormat, _ = payload["responseFormat"].(map[string]any)
	prompt.Model, _ = payload["model"].(map[string]any)
	texts := map[string]any{}
	if template, ok := payload["template"]; ok && template != nil {
		value, isText := template.(string)
		if !isText {
			return nil, payloadError(KindMalformed, "%s: template must be a string", PayloadFile)
		}
		prompt.Template = &value
		texts["template"] = value
	} else if messages, ok := payload["messages"].([]any); ok {
		prompt.Messages = []map[string]any{}
		for i, raw := range messages {
			message, isObject := raw.(map[string]any)
			content, isText := message["content"].(string)
			if !isObject || !isText {
				return nil, payloadError(KindMalformed, "%s: messages[%d] must have a string content", PayloadFile, i)
			}
			prompt.Messages = append(prompt.Messages, message)
			texts[fmt.Sprintf("messages[%d].content", i)] = content
		}
	}
	if prompt.Portable() {
		for where, value := range texts {
			if refused := Refusals(value.(string)); len(refused) > 0 {
				return nil, payloadError(KindUnsafeTemplate, "%s %s %s: %s: %s", PayloadFile, prompt.Name, prompt.Version, where, strings.Join(refused, "; "))
			}
		}
	}
	return prompt, nil
}

// ParsePayload reads the text of prompt.json; with verify, it is refused unless it re-hashes.
// A mustache template holding what validation refuses is refused either way.
func ParsePayload(text []byte, verifyHash bool) (*Prompt, error) {
	payload, err := documentOf(text, PayloadFile, PayloadFormat, TypedFormat, ComposedFormat)
	if err != nil {
		return nil, err
	}
	if verifyHash {
		if err := verify(payload); err != nil {
			return nil, err
		}
	}
	return promptOf(payload)
}

// Segment: requests whose attribute matches get this weight instead of the default.
type Segment struct {
	Attribute string
	Operator  string
	Values    []string
	Weight    float64
}

// Matches has Kubernetes label-selector semantics: NotIn and DoesNotExist match an absent
// attribute.
func (s Segment) Matches(attributes map[string]string) bool {
	value, present := attributes[s.Attribute]
	in := false
	for _, candidate := range s.Values {
		in = in || candidate == value
	}
	switch s.Operator {
	case "In":
		return present && in
	case "NotIn":
		return !present || !in
	case "Exists":
		return present
	case "DoesNotExist":
		return !present
	}
	return false
}

// Split is how requests are split between the stable version and the candidate.
type Split struct {
	Weight   float64
	Salt     string
	Segments []Segment
}

// WeightFor is the first matching segment's weight, else the default.
func (s Split) WeightFor(attributes map[string]string) float64 {
	for _, segment := range s.Segments {
		if segment.Matches(attributes) {
			return segment.Weight
		}
	}
	return s.Weight
}

// Bucket is a key's bucket in [0, Buckets): sha256(salt ":" key), first 8 bytes big-endian.
func Bucket(salt, key string) int {
	digest := sha256.Sum256([]byte(salt + ":" + key))
	return int(binary.BigEndian.Uint64(digest[:8]) % Buckets)
}

// Threshold: buckets below it get the candidate.
func Threshold(weight float64) int {
	limit := int(math.RoundToEven(weight * Buckets / 100))
	return max(0, min(Buckets, limit))
}

// ServesCandidate says whether this request gets the candidate: sticky for a key, random
// without one (key "").
func (s Split) ServesCandidate(key string, attributes map[string]string) bool {
	limit := Threshold(s.WeightFor(attributes))
	if limit <= 0 {
		return false
	}
	if limit >= Buckets {
		return true
	}
	if key == "" {
		drawn, _ := rand.Int(rand.Reader, big.NewInt(Buckets))
		return int(drawn.Int64()) < limit
	}
	return Bucket(s.Salt, key) < limit
}

// CanaryRelease is canary.json read back: the split and the candidate's prompt.
type CanaryRelease struct {
	Split     Split
	Prompt    *Prompt
	StartedAt string
}

func number(value any) (float64, bool) {
	found, ok := value.(json.Number)
	if !ok {
		return 0, value == nil
	}
	parsed, err := found.Float64()
	return parsed, err == nil
}

// ParseCanary reads the text of canary.json; with verify, the candidate must re-hash.
func ParseCanary(text []byte, verifyHash bool) (*CanaryRelease, error) {
	found, err := documentOf(text, CanaryFile, CanaryFormat)
	if err != nil {
		return nil, err
	}
	inner, ok := found["prompt"].(map[string]any)
	salt, hasSalt := found["salt"].(string)
	weight, hasWeight := number(found["weight"])
	if !ok || !hasSalt || !hasWeight || found["weight"] == nil {
		return nil, payloadError(KindMalformed, "%s is malformed: prompt, weight and salt are required", CanaryFile)
	}
	split := Split{Weight: weight, Salt: salt}
	rawSegments, _ := found["segments"].([]any)
	for _, raw := range rawSegments {
		segment, _ := raw.(map[string]any)
		operator := str(segment["operator"])
		if operator == "" {
			operator = "In"
		}
		segmentWeight, _ := number(segment["weight"])
		parsed := Segment{Attribute: str(segment["attribute"]), Operator: operator, Weight: segmentWeight}
		values, _ := segment["values"].([]any)
		for _, value := range values {
			parsed.Values = append(parsed.Values, str(value))
		}
		split.Segments = append(split.Segments, parsed)
	}
	if format, ok := inner["format"].(json.Number); !ok || !readablePayloadFormat(string(format)) {
		return nil, payloadError(KindFormat, "%s: its prompt has format %v; this SDK reads format %d, %d or %d", CanaryFile, inner["format"], PayloadFormat, TypedFormat, ComposedFormat)
	}
	if verifyHash {
		if err := verify(inner); err != nil {
			failed := err.(*PayloadError)
			return nil, payloadError(failed.Kind, "%s: %s", CanaryFile, failed.Message)
		}
	}
	prompt, err := promptOf(inner)
	if err != nil {
		failed := err.(*PayloadError)
		return nil, payloadError(failed.Kind, "%s: %s", CanaryFile, failed.Message)
	}
	if prompt.Version != str(found["version"]) || prompt.Hash != str(found["hash"]) {
		return nil, payloadError(KindHash, "%s: its prompt is not the version and hash it names", CanaryFile)
	}
	return &CanaryRelease{Split: split, Prompt: prompt.withVariant(Canary), StartedAt: str(found["startedAt"])}, nil
}

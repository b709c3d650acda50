// Package promptrelease reads the prompts Prompt Release Operator releases into a Pod: it
// verifies their hash, hot-reloads on the kubelet's swap, renders mustache prompts, picks the
// canary sticky per key, and tags traces with the exact version and hash.
//
//	prompt, err := promptrelease.Mount("/etc/prompts/ticket-summarizer", promptrelease.Options{})
//	current := prompt.Current() // one snapshot per request
//	text, err := current.Render(map[string]any{"ticket": ticket})
//	span.SetAttributes(current.TracingAttributes()...) // as key/values of your tracer
package promptrelease

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

const safeInteger = 1 << 53

// CanonicalizationError says a value has no RFC 8785 form (NaN, a huge integer, bad text).
type CanonicalizationError struct{ Reason string }

func (e *CanonicalizationError) Error() string { return e.Reason }

// NumberText is a JSON number as RFC 8785 writes it: ECMAScript's shortest round-trip form.
func NumberText(value float64) (string, error) {
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return "", &CanonicalizationError{fmt.Sprintf("%v is not a JSON number", value)}
	}
	if value == 0 {
		return "0", nil
	}
	sign := ""
	if value < 0 {
		sign, value = "-", -value
	}
	// shortest digits and exponent: d.ddde±x
	mantissa, exponent, _ := strings.Cut(strconv.FormatFloat(value, 'e', -1, 64), "e")
	exp, _ := strconv.Atoi(exponent)
	digits := strings.Replace(mantissa, ".", "", 1)
	digits = strings.TrimRight(digits, "0")
	if digits == "" {
		digits = "0"
	}
	k, n := len(digits), exp+1 // n: the decimal point's position
	var text string
	switch {
	case k <= n && n <= 21:
		text = digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		text = digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		text = "0." + strings.Repeat("0", -n) + digits
	default:
		e := n - 1
		fraction := ""
		if k > 1 {
			fraction = "." + digits[1:]
		}
		signed := "+"
		if e < 0 {
			signed, e = "-", -e
		}
		text = digits[:1] + fraction + "e" + signed + strconv.Itoa(e)
	}
	return sign + text, nil
}

func numberOf(value json.Number) (string, error) {
	literal := string(value)
	if !strings.ContainsAny(literal, ".eE") {
		integer, err := strconv.ParseInt(literal, 10, 64)
		if err != nil || integer >= safeInteger || integer <= -safeInteger {
			return "", &CanonicalizationError{fmt.Sprintf("integer %s is outside the range JSON numbers keep exactly (|n| < 2^53)", literal)}
		}
		return NumberText(float64(integer))
	}
	parsed, err := strconv.ParseFloat(literal, 64)
	if err != nil {
		return "", &CanonicalizationError{fmt.Sprintf("%s is not a JSON number", literal)}
	}
	return NumberText(parsed)
}

func encodeString(text string, out *bytes.Buffer) error {
	if !utf8.ValidString(text) {
		return &CanonicalizationError{"text is not valid Unicode"}
	}
	out.WriteByte('"')
	for _, r := range text {
		switch r {
		case '"':
			out.WriteString(`\"`)
		case '\\':
			out.WriteString(`\\`)
		case '\b':
			out.WriteString(`\b`)
		case '\f':
			out.WriteString(`\f`)
		case '\n':
			out.WriteString(`\n`)
		case '\r':
			out.WriteString(`\r`)
		case '\t':
			out.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(out, `\u%04x`, r)
			} else {
				out.WriteRune(r)
			}
		}
	}
	out.WriteByte('"')
	return nil
}

// utf16Less orders keys by their UTF-16 code units, as RFC 8785 does.
func utf16Less(a, b string) bool {
	x, y := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	for i := 0; i < len(x) && i < len(y); i++ {
		if x[i] != y[i] {
			return x[i] < y[i]
		}
	}
	return len(x) < len(y)
}

func encode(value any, out *bytes.Buffer) error {
	switch v := value.(type) {
	case nil:
		out.WriteString("null")
	case bool:
		if v {
			out.WriteString("true")
		} else {
			out.WriteString("false")
		}
	case json.Number:
		text, err := numberOf(v)
		if err != nil {
			return err
		}
		out.WriteString(text)
	case float64:
		text, err := NumberText(v)
		if err != nil {
			return err
		}
		out.WriteString(text)
	case int:
		return encode(json.Number(strconv.Itoa(v)), out)
	case int64:
		return encode(json.Number(strconv.FormatInt(v, 10)), out)
	case string:
		return encodeString(v, out)
	case []any:
		out.WriteByte('[')
		for i, item := range v {
			if i > 0 {
				out.WriteByte(',')
			}
			if err := encode(item, out); err != nil {
				return err
			}
		}
		out.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for key := range v {
			keys = append(keys, key)
		}
		sort.Slice(keys, func(i, j int) bool { return utf16Less(keys[i], keys[j]) })
		out.WriteByte('{')
		for i, key := range keys {
			if i > 0 {
				out.WriteByte(',')
			}
			if err := encodeString(key, out); err != nil {
				return err
			}
			out.WriteByte(':')
			if err := encode(v[key], out); err != nil {
				return err
			}
		}
		out.WriteByte('}')
	default:
		return &CanonicalizationError{fmt.Sprintf("%T has no JSON form", value)}
	}
	return nil
}

// CanonicalJSON is the RFC 8785 canonical text of a JSON value (as decoded with UseNumber, or
// made of float64, int, string, bool, nil, []any and map[string]any).
func CanonicalJSON(value any) ([]byte, error) {
	var out bytes.Buffer
	if err := encode(value, &out); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// WithoutNullMembers drops object members whose value is null, at any depth; nulls that are
// list items stay (as kubectl and the API server keep them).
func WithoutNullMembers(value any) any {
	switch v := value.(type) {
	case map[string]any:
		kept := make(map[string]any, len(v))
		for key, item := range v {
			if item != nil {
				kept[key] = WithoutNullMembers(item)
			}
		}
		return kept
	case []any:
		items := make([]any, len(v))
		for i, item := range v {
			items[i] = WithoutNullMembers(item)
		}
		return items
	}
	return value
}

// ContentHash is a PromptVersion spec's hash: "sha256:" + hex SHA-256 of the canonical JSON of
// the spec without its hash field, null members dropped.
func ContentHash(spec map[string]any) (string, error) {
	unpinned := make(map[string]any, len(spec))
	for key, value := range spec {
		if key != "hash" {
			unpinned[key] = value
		}
	}
	text, err := CanonicalJSON(WithoutNullMembers(unpinned))
	if err != nil {
		return "", err
	}
	digest := sha256.Sum256(text)
	return "sha256:" + hex.EncodeToString(digest[:]), nil
}

// DecodeJSON decodes JSON text keeping numbers exact (json.Number), as hashing needs.
func DecodeJSON(text []byte) (any, error) {
	decoder := json.NewDecoder(bytes.NewReader(text))
	decoder.UseNumber()
	var value any
	if err := decoder.Decode(&value); err != nil {
		return nil, err
	}
	if decoder.More() {
		return nil, fmt.Errorf("text after the JSON value")
	}
	return value, nil
}

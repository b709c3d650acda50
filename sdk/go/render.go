package promptrelease

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/cbroglie/mustache"
)

// Mustache is the portable template format: the Python, TypeScript and Go SDKs render it
// alike (the conformance kit proves it). Tag names are "." (inside a section) or dotted
// identifiers; partials are refused; nothing is HTML-escaped; values are JSON data only, so
// no method or function is ever reached; numbers print in ECMAScript's shortest form,
// booleans as true/false, null (and an empty object) as nothing; interpolating a list or an
// object is an error.
const Mustache = "mustache"

// MaxSectionDepth is how deeply mustache sections may nest.
const MaxSectionDepth = 32

var mustacheName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

// IsPortable says whether every SDK renders a templateFormat alike (mustache only).
func IsPortable(templateFormat string) bool { return templateFormat == Mustache }

func parseMustache(text string) (*mustache.Template, error) {
	// raw: no HTML escaping; a static provider with no partials: nothing is read from files
	return mustache.ParseStringPartialsRaw(text, &mustache.StaticProvider{Partials: map[string]string{}}, true)
}

// Refusals lists every construct of a mustache template that validation refuses (a syntax
// error is one too); empty when the template is safe.
func Refusals(text string) []string {
	template, err := parseMustache(text)
	if err != nil {
		return []string{"mustache: " + err.Error()}
	}
	var found []string
	var walk func(tags []mustache.Tag, depth int)
	walk = func(tags []mustache.Tag, depth int) {
		for _, tag := range tags {
			name := tag.Name()
			switch {
			case tag.Type() == mustache.Partial:
				found = append(found, fmt.Sprintf("mustache: the partial {{>%s}} is refused: a prompt is one self-contained template", name))
				continue
			case name == "." && depth == 0:
				found = append(found, "mustache: {{.}} outside a section would print every variable; name one")
			case name != "." && !mustacheName.MatchString(name):
				found = append(found, fmt.Sprintf("mustache: {{%s}} is not a name: tags name a variable or a dotted path of identifiers", name))
			}
			if tag.Type() == mustache.Section || tag.Type() == mustache.InvertedSection {
				if depth+1 > MaxSectionDepth {
					found = append(found, fmt.Sprintf("mustache: sections nest more than %d deep", MaxSectionDepth))
					continue
				}
				walk(tag.Tags(), depth+1)
			}
		}
	}
	walk(template.Tags(), 0)
	return found
}

// jsonData turns variables into the values the renderer sees: maps, lists, strings, bools and
// int64; a number that isn't a safe integer becomes its ECMAScript text; null and an empty
// object become "" (nothing, and false in a section). Anything else is refused.
func jsonData(value any, where string) (any, error) {
	switch v := value.(type) {
	case nil:
		return "", nil
	case string, bool:
		return v, nil
	case json.Number:
		if !strings.ContainsAny(string(v), ".eE") {
			if integer, err := strconv.ParseInt(string(v), 10, 64); err == nil && integer < safeInteger && integer > -safeInteger {
				return integer, nil
			}
		}
		parsed, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return nil, renderError(KindValue, "mustache: %s is not a number", where)
		}
		return jsonData(parsed, where)
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < safeInteger {
			return int64(v), nil
		}
		text, err := NumberText(v)
		if err != nil {
			return nil, renderError(KindValue, "mustache: %s: %v", where, err)
		}
		return text, nil
	case float32:
		return jsonData(float64(v), where)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return jsonData(json.Number(fmt.Sprint(v)), where)
	case []any:
		items := make([]any, len(v))
		for i, item := range v {
			converted, err := jsonData(item, fmt.Sprintf("%s[%d]", where, i))
			if err != nil {
				return nil, err
			}
			items[i] = converted
		}
		return items, nil
	case []string:
		items := make([]any, len(v))
		for i, item := range v {
			items[i] = item
		}
		return items, nil
	case map[string]any:
		if len(v) == 0 && where != "" {
			return "", nil // an empty object counts as null, in every SDK
		}
		object := make(map[string]any, len(v))
		for key, item := range v {
			path := key
			if where != "" {
				path = where + "." + key
			}
			converted, err := jsonData(item, path)
			if err != nil {
				return nil, err
			}
			object[key] = converted
		}
		return object, nil
	case map[string]string:
		object := make(map[string]any, len(v))
		for key, item := range v {
			object[key] = item
		}
		return jsonData(object, where)
	}
	return nil, renderError(KindValue, "mustache: %s is a %T; mustache values are JSON data (text, numbers, booleans, null, lists, objects)", where, value)
}

// lookup resolves a name as the renderer does: "." is the top of the chain, a dotted path
// starts at the nearest object holding its first part and then goes down objects only.
func lookup(chain []any, name string) (any, bool) {
	if name == "." {
		return chain[0], true
	}
	parts := strings.Split(name, ".")
	var value any
	found := false
	for _, context := range chain {
		if object, ok := context.(map[string]any); ok {
			if value, found = object[parts[0]]; found {
				break
			}
		}
	}
	if !found {
		return nil, false
	}
	for _, part := range parts[1:] {
		object, ok := value.(map[string]any)
		if !ok {
			return nil, false
		}
		if value, ok = object[part]; !ok {
			return nil, false
		}
	}
	return value, true
}

func empty(value any) bool {
	switch v := value.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(v) == ""
	case bool:
		return !v
	case int64:
		return v == 0
	case []any:
		return len(v) == 0
	}
	return reflect.ValueOf(value).IsZero()
}

// checkValues walks the template as the renderer will and refuses a tag that would print a
// list or an object (every SDK refuses it: iterate it with a section instead).
func checkValues(tags []mustache.Tag, chain []any) error {
	for _, tag := range tags {
		value, _ := lookup(chain, tag.Name())
		switch tag.Type() {
		case mustache.Variable:
			switch value.(type) {
			case []any:
				return renderError(KindValue, "mustache: {{%s}} names a list; iterate it with a section instead", tag.Name())
			case map[string]any:
				return renderError(KindValue, "mustache: {{%s}} names an object; iterate it with a section instead", tag.Name())
			}
		case mustache.Section:
			if empty(value) {
				continue
			}
			items, isList := value.([]any)
			if !isList {
				items = []any{value}
			}
			for _, item := range items {
				if err := checkValues(tag.Tags(), append([]any{item}, chain...)); err != nil {
					return err
				}
			}
		case mustache.InvertedSection:
			if empty(value) {
				if err := checkValues(tag.Tags(), chain); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// RenderMustache renders a mustache template with JSON variables; the caller checks the
// variable set first (BindVariables, or CheckVariables for plain names).
func RenderMustache(text string, variables map[string]any) (string, error) {
	if refused := Refusals(text); len(refused) > 0 {
		return "", renderError(KindValue, "%s", strings.Join(refused, "; "))
	}
	template, err := parseMustache(text)
	if err != nil {
		return "", renderError(KindValue, "mustache: %v", err)
	}
	data, err := jsonData(variables, "")
	if err != nil {
		return "", err
	}
	if data == "" {
		data = map[string]any{}
	}
	if err := checkValues(template.Tags(), []any{data}); err != nil {
		return "", err
	}
	out, err := template.Render(data)
	if err != nil {
		return "", renderError(KindValue, "mustache: %v", err)
	}
	return out, nil
}

// CheckVariables refuses missing and unexpected plain-named variables, naming them all: the
// typed binding's check with every name required and of any type.
func CheckVariables(declared []string, given map[string]any) error {
	variables := make([]Variable, len(declared))
	for i, name := range declared {
		variables[i] = Variable{Name: name, Required: true}
	}
	_, err := BindVariables(variables, given)
	return err
}

package promptrelease

import (
	"encoding/json"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// VariableTypes are the JSON types a typed variable may declare.
var VariableTypes = []string{"string", "number", "integer", "boolean", "object", "array"}

// Variable is one declared variable: a plain name (required, any type) or a typed entry
// {name, type, required, default, description}. The same rules as the Python SDK: required
// unless the entry has a default; a missing optional variable takes its default, else the
// zero value of its type.
type Variable struct {
	Name        string
	Type        string // "" for any type
	Required    bool
	Default     any
	HasDefault  bool
	Description string
}

// DeclaredVariables reads the entries of a payload's variables (entries without a name are
// left out).
func DeclaredVariables(entries []any) []Variable {
	var found []Variable
	for _, entry := range entries {
		if name, ok := entry.(string); ok {
			found = append(found, Variable{Name: name, Required: true})
			continue
		}
		object, ok := entry.(map[string]any)
		if !ok {
			continue
		}
		name, ok := object["name"].(string)
		if !ok {
			continue
		}
		variable := Variable{Name: name}
		if kind, ok := object["type"].(string); ok && contains(VariableTypes, kind) {
			variable.Type = kind
		}
		if value, ok := object["default"]; ok && value != nil {
			variable.Default, variable.HasDefault = value, true
		}
		variable.Required = !variable.HasDefault
		if required, ok := object["required"].(bool); ok {
			variable.Required = required
		}
		variable.Description, _ = object["description"].(string)
		found = append(found, variable)
	}
	return found
}

func contains(list []string, value string) bool {
	for _, item := range list {
		if item == value {
			return true
		}
	}
	return false
}

func wholeNumber(value float64) bool {
	return !math.IsInf(value, 0) && !math.IsNaN(value) && value == math.Trunc(value)
}

// JSONType names the JSON type of a value as JSON Schema does ("null" for nil). Whole
// numbers are "integer", whatever Go type holds them, as in JSON Schema.
func JSONType(value any) string {
	if value == nil {
		return "null"
	}
	if number, ok := value.(json.Number); ok {
		if parsed, err := strconv.ParseFloat(string(number), 64); err == nil && !wholeNumber(parsed) {
			return "number"
		}
		return "integer"
	}
	reflected := reflect.ValueOf(value)
	switch reflected.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		if wholeNumber(reflected.Float()) {
			return "integer"
		}
		return "number"
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Pointer, reflect.Interface:
		if reflected.IsNil() {
			return "null"
		}
		return JSONType(reflected.Elem().Interface())
	}
	return reflected.Kind().String()
}

// Fits says whether a value is of the declared type ("" fits anything).
func Fits(value any, kind string) bool {
	if kind == "" {
		return true
	}
	found := JSONType(value)
	if kind == "number" {
		return found == "number" || found == "integer"
	}
	return found == kind
}

func zeroValue(kind string) any {
	switch kind {
	case "number", "integer":
		return int64(0)
	case "boolean":
		return false
	case "object":
		return map[string]any{}
	case "array":
		return []any{}
	}
	return ""
}

// BindVariables returns the values a render uses: those given, checked against their types,
// and for the rest their defaults. The RenderError (KindVariables) names every missing,
// unexpected and mistyped variable.
func BindVariables(variables []Variable, given map[string]any) (map[string]any, error) {
	wanted := map[string]Variable{}
	var all, missing, unexpected, wrong []string
	for _, variable := range variables {
		wanted[variable.Name] = variable
	}
	for name, variable := range wanted {
		all = append(all, name)
		if _, ok := given[name]; !ok && variable.Required {
			missing = append(missing, name)
		}
	}
	var names []string
	for name := range given {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		variable, ok := wanted[name]
		if !ok {
			unexpected = append(unexpected, name)
		} else if !Fits(given[name], variable.Type) {
			wrong = append(wrong, name+" must be "+variable.Type+", not "+JSONType(given[name]))
		}
	}
	sort.Strings(all)
	sort.Strings(missing)
	var problems []string
	if len(missing) > 0 {
		problems = append(problems, "missing variable(s): "+strings.Join(missing, ", "))
	}
	if len(unexpected) > 0 {
		problems = append(problems, "unexpected variable(s): "+strings.Join(unexpected, ", "))
	}
	if len(wrong) > 0 {
		problems = append(problems, "variable(s) of the wrong type: "+strings.Join(wrong, "; "))
	}
	if len(problems) > 0 {
		return nil, renderError(KindVariables, "%s (declared: %s)", strings.Join(problems, "; "), strings.Join(all, ", "))
	}
	bound := make(map[string]any, len(wanted))
	for name, value := range given {
		bound[name] = value
	}
	for name, variable := range wanted {
		if _, ok := bound[name]; ok {
			continue
		}
		if variable.HasDefault {
			bound[name] = variable.Default
		} else {
			bound[name] = zeroValue(variable.Type)
		}
	}
	return bound, nil
}

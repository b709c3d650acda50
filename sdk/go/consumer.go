package promptrelease

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
)

// The pod-template annotations that declare what a workload supplies and parses, read by the
// operator's consumer contract gate (docs/consumers.md).
const (
	SuppliesVariables     = "promptrelease.io/supplies-variables"
	AcceptsResponseFormat = "promptrelease.io/accepts-response-format"
)

// ResponseFormatHash is "sha256:" + hex SHA-256 of the canonical JSON of responseFormat's
// schema, null members dropped: the content hash's rule, over what a consumer parses.
func ResponseFormatHash(responseFormat map[string]any) (string, error) {
	text, err := CanonicalJSON(WithoutNullMembers(responseFormat["schema"]))
	if err != nil {
		return "", err
	}
	digest := sha256.Sum256(text)
	return "sha256:" + hex.EncodeToString(digest[:]), nil
}

// ConsumerAnnotations are the annotations a workload using p should carry: the variables it
// supplies (every declared one when supplies is nil) and the hash of p's response format, if
// it has one.
func ConsumerAnnotations(p *Prompt, supplies []string) (map[string]string, error) {
	if supplies == nil {
		supplies = p.Variables
	}
	seen := map[string]bool{}
	names := []string{}
	for _, name := range supplies {
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	sort.Strings(names)
	found := map[string]string{SuppliesVariables: strings.Join(names, ",")}
	if p.ResponseFormat != nil {
		hash, err := ResponseFormatHash(p.ResponseFormat)
		if err != nil {
			return nil, err
		}
		found[AcceptsResponseFormat] = hash
	}
	return found, nil
}

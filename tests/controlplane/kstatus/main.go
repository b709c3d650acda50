// Command kstatus prints the kstatus reading of Kubernetes objects: one JSON object per input
// object, in order. Input: a JSON list of objects on stdin. Flux's health checks and
// `kubectl wait` read our resources this way, so the tests compare it with the Argo CD checks.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sjson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type reading struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	var objects []map[string]interface{}
	input, err := io.ReadAll(os.Stdin)
	if err == nil {
		err = k8sjson.Unmarshal(input, &objects) // integers as int64, as the API machinery has them
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kstatus: reading a JSON list of objects from stdin:", err)
		os.Exit(2)
	}
	readings := make([]reading, 0, len(objects))
	for _, object := range objects {
		u := &unstructured.Unstructured{Object: object}
		result, err := status.Compute(u)
		if err != nil {
			fmt.Fprintln(os.Stderr, "kstatus:", u.GetName(), err)
			os.Exit(1)
		}
		readings = append(readings, reading{u.GetName(), result.Status.String(), result.Message})
	}
	if err := json.NewEncoder(os.Stdout).Encode(readings); err != nil {
		os.Exit(1)
	}
}

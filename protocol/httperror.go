package protocol

import (
	"encoding/json"
	"net/http"
)

// WriteHTTPError answers an HTTP request with the protocol's JSON error body.
func WriteHTTPError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Error{Code: code, Message: msg})
}

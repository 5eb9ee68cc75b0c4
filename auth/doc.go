// Package auth mints and verifies Podium access tokens: HS256 JWTs signed
// with an API secret whose "iss" claim names the API key (see the access
// token section of docs/protocol.md).
package auth

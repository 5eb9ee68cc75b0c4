package signaling

import (
	"net/http"

	"github.com/podium-sfu/podium/auth"
)

// allocation explains one subscriber's last allocation (roomAdmin): the estimate, the budget,
// and per video the layer wanted, the layer chosen and why. The participant must be on this
// node: its allocation is made where it is connected.
func (s *Server) allocation(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	p := s.participant(w, r, c)
	if p == nil {
		return
	}
	a, err := p.Allocation()
	if err != nil {
		s.roomError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

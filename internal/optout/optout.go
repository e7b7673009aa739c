// Package optout recognises the keywords by which a contact stops, restarts or asks about a
// client's messages. It is pure: the inbound router applies what it says.
package optout

import "strings"

// Action is what an inbound message asks for.
type Action string

// Actions.
const (
	None  Action = ""
	Stop  Action = "stop"
	Start Action = "start"
	Help  Action = "help"
)

var keywords = map[string]Action{
	"STOP": Stop, "STOPALL": Stop, "UNSUBSCRIBE": Stop, "CANCEL": Stop, "END": Stop, "QUIT": Stop,
	"START": Start, "UNSTOP": Start, "YES": Start,
	"HELP": Help,
}

// Classify reads a message body: only the whole message, trimmed and in any case, is a keyword
// ("stop" is one, "please stop texting me" is not: the client reads that one).
func Classify(body string) (Action, string) {
	word := strings.ToUpper(strings.TrimSpace(body))
	a, ok := keywords[word]
	if !ok {
		return None, ""
	}
	return a, word
}

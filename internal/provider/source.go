package provider

// JSONSource is an inbound source whose webhook carries one message as a JSON object, read by
// Parse: the shape of ExtremeSMS's webhook and of the generic one. It verifies each request
// with its entry's webhook protection and records the message under the entry's name.
type JSONSource struct {
	Name, Region string
	Guard        Guard
	// Parse reads one message; region is the country assumed for national numbers.
	Parse func(body []byte, region string) (Inbound, error)
}

// Supports: a source takes verified inbound messages.
func (s *JSONSource) Supports() Features { return FeatureInbound | FeatureVerify }

// Verify applies the entry's webhook protection (these providers sign nothing themselves).
func (s *JSONSource) Verify(r Request) error { return s.Guard.Verify(r) }

// ParseInbound reads the one message of a request, recorded under the entry's name. These
// providers expect no particular answer.
func (s *JSONSource) ParseInbound(r Request) ([]Inbound, Answer, error) {
	in, err := s.Parse(r.Body, s.Region)
	if err != nil {
		return nil, Answer{}, err
	}
	in.Provider = s.Name
	return []Inbound{in}, Answer{}, nil
}

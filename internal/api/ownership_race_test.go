package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"sync"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// claim is one client's attempt at a new phone: a contact created through the API, or a
// one-row import.
type claim func(s *ibikitest.Server, key, phone string) (won bool, err error)

func createClaim(s *ibikitest.Server, key, phone string) (bool, error) {
	b, _ := json.Marshal(map[string]string{"phone": phone})
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/contacts", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	status, body, err := roundTrip(req)
	switch {
	case err != nil:
		return false, err
	case status == http.StatusCreated:
		return true, nil
	case status == http.StatusConflict && bytes.Contains(body, []byte(`"phone_belongs_to_another_client"`)):
		return false, nil
	}
	return false, fmt.Errorf("create %s: %d %s", phone, status, body)
}

func importClaim(s *ibikitest.Server, key, phone string) (bool, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "one.csv")
	io.WriteString(fw, "phone\n"+phone+"\n")
	mw.Close()
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/contacts/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+key)
	status, b, err := roundTrip(req)
	if err != nil {
		return false, err
	}
	var rep importReport
	if status != http.StatusOK || json.Unmarshal(b, &rep) != nil {
		return false, fmt.Errorf("import %s: %d %s", phone, status, b)
	}
	switch {
	case rep.Imported == 1: // under allow, a conflict is imported and still reported
		return true, nil
	case rep.Imported == 0 && rep.ConflictCount == 1:
		return false, nil
	}
	return false, fmt.Errorf("import %s: report %s", phone, b)
}

// roundTrip is for goroutines, which must not fail the test themselves.
func roundTrip(req *http.Request) (int, []byte, error) {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// race lets two clients claim each of n new phones at the same moment and returns, per phone,
// how many of the two won.
func race(t *testing.T, s *ibikitest.Server, keys [2]string, claims [2]claim, base, n int) []int {
	t.Helper()
	wins := make([]int, n)
	for i := range n {
		phone := fmt.Sprintf("+1555380%04d", base+i)
		start := make(chan struct{})
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
		)
		for k := range 2 {
			wg.Go(func() {
				<-start
				won, err := claims[k](s, keys[k], phone)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				}
				if won {
					wins[i]++
				}
			})
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			t.Fatal(err)
		}
	}
	return wins
}

// Two clients taking the same new phone at the same moment: under the reject policy exactly
// one of them gets it, whichever way each takes it (the check and the insert are one
// transaction, serialised per phone on PostgreSQL); under allow, both do.
func TestOnePhoneOneClientUnderRace(t *testing.T) {
	const rounds = 25
	modes := []struct {
		name   string
		claims [2]claim
	}{
		{"two contacts created at once", [2]claim{createClaim, createClaim}},
		{"two imports at once", [2]claim{importClaim, importClaim}},
		{"a contact created during an import", [2]claim{createClaim, importClaim}},
	}
	t.Run("reject: exactly one client wins each phone", func(t *testing.T) {
		s := ibikitest.NewServer(t, nil)
		acme, globex := s.CreateClient("acme", ""), s.CreateClient("globex", "")
		for m, mode := range modes {
			t.Run(mode.name, func(t *testing.T) {
				wins := race(t, s, [2]string{acme.APIKey, globex.APIKey}, mode.claims, m*rounds, rounds)
				for i, w := range wins {
					phone := fmt.Sprintf("+1555380%04d", m*rounds+i)
					owners, err := s.Store.ContactOwners(t.Context(), phone, 10)
					if err != nil {
						t.Fatal(err)
					}
					if w != 1 || len(owners) != 1 {
						t.Errorf("%s: %d winners, owners %v; want exactly one", phone, w, owners)
					}
				}
			})
		}
	})
	t.Run("allow: both clients get the phone", func(t *testing.T) {
		s := ibikitest.NewServer(t, map[string]string{"IBIKI_CONTACT_CONFLICTS": "allow"})
		acme, globex := s.CreateClient("acme", ""), s.CreateClient("globex", "")
		for m, mode := range modes {
			wins := race(t, s, [2]string{acme.APIKey, globex.APIKey}, mode.claims, 500+m*5, 5)
			for i, w := range wins {
				if w != 2 {
					t.Errorf("%s, phone %d: %d winners, want 2", mode.name, i, w)
				}
			}
		}
	})
}

package webhook_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/webhook"
)

// A deliver_sm's first attempt is handed the MessageData its payload was made from, rather than
// decoding the payload; a later attempt decodes it. Both must say the same: the data survives
// its payload's JSON whole, for a receipt (outbound, with its error) and an inbound message.
func TestMessageDataSurvivesItsPayload(t *testing.T) {
	at := time.Date(2026, 12, 8, 1, 2, 3, 456_000_000, time.UTC)
	for name, m := range map[string]model.Message{
		"receipt": {ID: "msg_1", ClientID: "acme", ConversationID: "conv_1", Direction: model.Outbound, From: "+15550000041",
			To: "+15552090001", Body: "hello €", Channel: model.ChannelSMS, Status: model.StatusUndelivered, Provider: "smsc",
			ProviderMessageID: "0A1B", Segments: 1, Encoding: "GSM-7", CostCents: 2, ErrorCode: "UNDELIV:005",
			ErrorMessage: "undeliverable", StatusAt: at, ReceivedAt: at, RoutedBy: model.RoutedByOutbound},
		"inbound": {ID: "msg_2", ClientID: "acme", ConversationID: "conv_2", Direction: model.Inbound, From: "+46700000003",
			To: "57675", Body: "BAL please", Channel: model.ChannelSMS, Status: model.StatusReceived, Provider: "smsc",
			ReceivedAt: at, RoutedBy: model.RoutedByNumber, Contact: model.ContactInfo{FirstName: "Ann", LastName: "Lee"}},
	} {
		md := webhook.NewMessageData(m, m.Contact)
		payload, err := webhook.Payload(model.EventMessageStatus, at, md)
		if err != nil {
			t.Fatal(err)
		}
		var ev struct {
			Data webhook.MessageData `json:"data"`
		}
		if err := json.Unmarshal(payload, &ev); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ev.Data, md) {
			t.Errorf("%s: decoded %+v, made %+v", name, ev.Data, md)
		}
	}
}

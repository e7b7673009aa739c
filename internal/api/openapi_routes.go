package api

import (
	"net/http"
	"reflect"
	"slices"

	"github.com/ibiki/ibiki/internal/importer"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/respond"
	"github.com/ibiki/ibiki/internal/webhook"
)

// The route table of the OpenAPI document: one operation per route of the server's mux but the
// dashboard's pages (a test holds the two together), each with its request and answers. Bodies
// and answers name the handlers' own types; what the handlers build as maps is described here.

// authKind is how an operation's caller is authenticated.
type authKind int

const (
	public authKind = iota
	clientKey
	adminToken
	twilioBasic
	providerWebhook
)

// operation is one route of the document.
type operation struct {
	route   string // the ServeMux pattern that serves it (a provider's name is {provider})
	path    string // the document's path, when it is not the pattern's
	id      string
	tag     string
	summary string
	about   string
	auth    authKind
	params  []param // query and header parameters; path ones come from the path
	paged   bool    // ?limit= and ?cursor=, a {"data","next_cursor"} answer
	idem    bool    // takes an Idempotency-Key
	body    *reqBody
	replies []reply
	// errs are the operation's own error codes by status (Twilio's numeric codes as text),
	// besides those every operation of its kind answers (errorCodes).
	errs map[int][]string
	// errExtra are fields an error answer of the operation may carry besides "error".
	errExtra map[string]schemaFn
}

type param struct {
	name, in, about string
	required        bool
	sch             schema
}

type reqBody struct {
	about    string
	required bool
	json     bool // decoded as JSON: the JSON errors apply
	content  []bodyContent
}

type bodyContent struct {
	typ      string
	sch      schemaFn
	encoding map[string]oaEncoding
}

type reply struct {
	status  int
	about   string
	typ     string // "" for no body
	sch     schemaFn
	headers map[string]oaHeader
}

// schemaFn builds a schema with the document's named schemas.
type schemaFn func(*schemaSet) schema

func answerOf[T any]() schemaFn {
	return func(s *schemaSet) schema { return s.of(reflect.TypeFor[T](), answer) }
}

func answerOfType(t reflect.Type) schemaFn {
	return func(s *schemaSet) schema { return s.of(t, answer) }
}

func fixed(sch schema) schemaFn { return func(*schemaSet) schema { return sch } }

// requestOf is the schema of a JSON body decoded into T, with its required fields.
func requestOf[T any](required ...string) schemaFn {
	return func(s *schemaSet) schema {
		sch := s.of(reflect.TypeFor[T](), request)
		if len(required) > 0 {
			sch["required"] = anySlice(required)
		}
		return sch
	}
}

// jsonBody is a JSON request body decoded into T.
func jsonBody[T any](required ...string) *reqBody {
	return &reqBody{required: true, json: true, content: []bodyContent{{typ: "application/json", sch: requestOf[T](required...)}}}
}

func jsonReply(status int, about string, sch schemaFn) reply {
	return reply{status: status, about: about, typ: "application/json", sch: sch}
}

// pageOf is a page of a list: {"data":[…],"next_cursor"}.
func pageOf(item schemaFn) schemaFn {
	return func(s *schemaSet) schema {
		return object(schema{"data": schema{"type": "array", "items": item(s)},
			"next_cursor": schema{"type": []any{"string", "null"},
				"description": "The cursor of the next page (?cursor=), null at the end."}}, "data", "next_cursor")
	}
}

func pageReply(about string, item schemaFn) reply { return jsonReply(200, about, pageOf(item)) }

func noContent(about string) reply { return reply{status: 204, about: about} }

func csvReply(about string) reply {
	return reply{status: 200, about: about, typ: "text/csv", sch: fixed(schema{"type": "string"}),
		headers: map[string]oaHeader{"Content-Disposition": {Description: "attachment; filename=\"…\"", Schema: schema{"type": "string"}}}}
}

// object is a closed object schema of props, with the required ones.
func object(props schema, required ...string) schema {
	out := schema{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		out["required"] = anySlice(required)
	}
	return out
}

func str(about string) schema { return schema{"type": "string", "description": about} }

func enumOf(about string, vals ...string) schema {
	return schema{"type": "string", "enum": anySlice(vals), "description": about}
}

func query(name, about string, sch schema) param {
	return param{name: name, in: "query", about: about, sch: sch}
}

var (
	pageParamList = []param{
		query("limit", "Results per page, 1 to 100 (default 50).", schema{"type": "integer", "minimum": 1, "maximum": 100, "default": 50}),
		query("cursor", "The next_cursor of the previous page; opaque.", schema{"type": "string"}),
	}
	idempotencyParam = param{name: "Idempotency-Key", in: "header", sch: schema{"type": "string", "maxLength": maxIdempotencyKey},
		about: "Makes the call safe to retry: the same key with the same request answers the first answer again " +
			"(with Idempotent-Replayed: true) and does nothing new; with another request it is 409 idempotency_key_reused. " +
			"Per caller, kept 25 hours; only successful answers are kept."}
	replayedHeader = oaHeader{Description: "true when the answer is the replay of an earlier request with the same Idempotency-Key.",
		Schema: schema{"type": "string", "enum": []any{"true"}}}
	channelQuery = query("channel", "sms, whatsapp or voice.", schema{"type": "string", "enum": []any{"sms", "whatsapp", "voice"}})
	statusQuery  = query("status", "pending, succeeded or failed.", schema{"type": "string", "enum": []any{"pending", "succeeded", "failed"}})
	clientQuery  = query("client_id", "Only this client's.", schema{"type": "string"})
	formatQuery  = query("format", "full (the default: every field) or extremesms (the file for the ExtremeSMS contact group).",
		schema{"type": "string", "enum": []any{"", "full", "extremesms"}})
)

var pathParamAbout = map[string]string{
	"id":         "The resource's id.",
	"phone":      "A phone number, URL-escaped (`%2B15551234567`); a national number is read in IBIKI_DEFAULT_REGION.",
	"number":     "A receiving number, URL-escaped (`%2B15557654321`), or a short code; read like the number field.",
	"rule":       "An auto-reply rule's id.",
	"template":   "A DLT template's id (`dlt_…`, Ibiki's, not its DLT template_id).",
	"AccountSid": "The caller's Account SID (`AC…`); another one is not found.",
	"Sid":        "A message SID (`SM…` or `MM…`).",
	"provider":   "The name of a providers-file entry (`extremesms`, `generic`, a Twilio entry's name…).",
	"asset":      "A file of the reference page (`docs.js`, `docs.css`).",
}

// Tags, in the order the reference page shows them.
const (
	tagAdminClients  = "Admin: clients"
	tagAdminNumbers  = "Admin: numbers"
	tagAdminRouting  = "Admin: unrouted messages"
	tagAdminDelivery = "Admin: deliveries"
	tagAdminCredits  = "Admin: credits"
	tagAdminOther    = "Admin: providers, simulator, audit"
	tagAdminOptOut   = "Admin: suppressions"
	tagAdminAnswers  = "Admin: auto-replies and calls"
	tagAdminServices = "Admin: services"
	tagContacts      = "Contacts"
	tagConversations = "Conversations"
	tagMessages      = "Messages"
	tagCampaigns     = "Campaigns"
	tagAnswers       = "Auto-replies and calls"
	tagServices      = "Services"
	tagCredits       = "Credits"
	tagSuppressions  = "Suppressions"
	tagDLT           = "DLT templates"
	tagDeliveries    = "Webhook deliveries"
	tagTwilio        = "Twilio-compatible API"
	tagWebhooks      = "Provider webhooks"
	tagOperations    = "Operations"
	tagReference     = "Reference"
)

var docTags = []oaTag{
	{tagAdminClients, "The operator's clients: create, change, rotate their API key, webhook secret and Twilio credentials. Admin token."},
	{tagAdminNumbers, "Receiving numbers: dedicated to a client or in the shared pool, and the provider that sends from them."},
	{tagAdminRouting, "Messages no routing rule could give to a client, until the operator assigns them."},
	{tagAdminDelivery, "Every client's webhook deliveries, and replaying them."},
	{tagAdminCredits, "Top-ups and a client's ledger."},
	{tagAdminOther, "The configured providers, the simulator, the contact export of every client, the audit log."},
	{tagAdminOptOut, "A client's suppression list, as the operator sees it."},
	{tagAdminAnswers, "A client's auto-replies, and how its numbers answer calls."},
	{tagAdminServices, "Every client's services, and the operator's own on pool numbers (client_id empty)."},
	{tagContacts, "The client's contact book, CSV import and export. API key."},
	{tagConversations, "Threads between the client and one phone on one channel."},
	{tagMessages, "Sending (one, bulk, replies) and reading messages."},
	{tagCampaigns, "One template sent to a list, paced, pausable, with results."},
	{tagAnswers, "The client's auto-replies and voice answers."},
	{tagServices, "Commands, multi-step flows and callouts on the client's numbers and short codes: contacts who write to the number get the service's answers (charged like sends). See docs/services.md."},
	{tagCredits, "The client's balance and ledger."},
	{tagSuppressions, "The client's opt-out list: sends to these phones are refused."},
	{tagDLT, "India's DLT templates: registered texts with {#var#} placeholders that sends naming dlt_template_id (or every send, when the client requires DLT) must match; their ids travel to providers."},
	{tagDeliveries, "The client's webhook delivery log."},
	{tagTwilio, "Twilio's Messages and Accounts resources, for code written for Twilio's REST API: HTTP basic auth " +
		"AccountSid:AuthToken, form-encoded requests, Twilio's answers, paging and error shape " +
		"({\"code\",\"message\",\"more_info\",\"status\"}). Any other path under /2010-04-01/ answers Twilio's 404 (20404). See docs/twilio-api.md."},
	{tagWebhooks, "Where providers post inbound messages, delivery reports and calls: one set per providers-file entry, " +
		"by its name, according to what its type takes. Bodies are each provider's own. Not for clients."},
	{tagOperations, "Health, readiness and Prometheus metrics."},
	{tagReference, "This document and its rendered reference page."},
}

// fallbackRoutes are the catch-all patterns that are not operations.
var fallbackRoutes = []string{"/" + twilioVersion + "/"}

const docDescription = "Ibiki's HTTP interface: the **client API** under `/api/v1` (a client's API key), " +
	"the **admin API** under `/admin/v1` (the operator's admin token), the **Twilio-compatible API** under " +
	"`/2010-04-01/Accounts/{AccountSid}` (HTTP basic auth), the **provider webhooks** under `/webhooks`, and the " +
	"health and metrics endpoints. The dashboard's HTML pages (`/login`, `/`, `/static/…` and the other pages of the " +
	"web interface) are not part of this API and are not described here.\n\n" +
	"**Errors** (client and admin APIs, webhooks) have one shape: `{\"error\":{\"code\",\"message\",\"param\"}}`; " +
	"`code` is stable, `param` names the field, path or query parameter at fault when there is one, and " +
	"`insufficient_credits` adds `balance_cents` and `needed_cents`. Each answer lists its codes. A path that does " +
	"not exist is `404 not_found`, a method the path does not take `405 method_not_allowed` (with `Allow`).\n\n" +
	"**Bodies** are JSON objects (uploads are multipart/form-data); unknown fields are refused (`invalid_field`), " +
	"strings must be text (UTF-8 without NUL). The limit is IBIKI_MAX_BODY_BYTES, IBIKI_MAX_UPLOAD_BYTES on the upload " +
	"paths (`413 body_too_large`). Times are RFC 3339 in UTC with milliseconds; phone numbers are answered in E.164.\n\n" +
	"**Idempotency-Key**: every creating call takes one (see the header's description); the same key with the same " +
	"request answers the first answer again, with `Idempotent-Replayed: true`.\n\n" +
	"**Pagination**: lists take `?limit=` (1–100, default 50) and `?cursor=`, and answer " +
	"`{\"data\":[…],\"next_cursor\"}`; `next_cursor` is null at the end.\n\n" +
	"Every answer carries `X-Request-Id`. The full guide is docs/api.md; this document is generated from the code " +
	"(internal/api/openapi*.go) and kept in the repository as docs/openapi.json."

var reflectTypeOfError = reflect.TypeFor[respond.Error]()

// topUpType is the type of topUpOut's answer (an anonymous struct).
var topUpType = reflect.TypeOf(topUpOut(model.Client{}, model.LedgerEntry{}))
var reflectTypeOfTwilioError = reflect.TypeFor[twilioError]()

// namedSchemas are the answer types shown once, under components/schemas.
var namedSchemas = []namedSchema{
	named[respond.Error]("ErrorDetail", "An error: `code` (stable, snake_case), `message` (for people), `param` (the field at fault, when there is one); insufficient_credits adds `balance_cents` and `needed_cents`."),
	named[clientOut]("Client", "A client. `api_key` and `webhook_secret` appear only in the answers that make them, `previous_webhook_secret_expires_at` only when rotating the secret."),
	named[numberOut]("Number", "A receiving number: dedicated to a client (client_id), or in the shared pool (null)."),
	named[contactOut]("Contact", "A contact of the client's contact book."),
	named[conversationOut]("Conversation", "The thread between the client and one phone on one channel."),
	named[webhook.MessageData]("Message", "A message, in the shape of webhook events' data. Outbound messages also have segments, encoding, cost_cents, error_code, error_message and status_at."),
	named[messageOut]("MessageDetail", "A message as sends and message reads answer it: the Message, plus `non_gsm_characters` for UCS-2 bodies."),
	named[model.ContactInfo]("ContactInfo", "What the provider sent about the person behind the phone."),
	named[model.Attachment]("Attachment", "An attachment: its URL and content type (\"\" when not known)."),
	named[webhook.CallData]("CallData", "A phone call's status, duration and voicemail length."),
	named[deliveryOut]("Delivery", "A webhook delivery: one event bound for the client's webhook, with its attempts; `payload` (the exact body) only when read by id."),
	named[attemptOut]("DeliveryAttempt", "One HTTP attempt of a delivery."),
	named[ledgerOut]("LedgerEntry", "One movement of a client's credits (amount signed; balance after it)."),
	named[balanceOut]("Balance", "A client's balance and rate, in cents."),
	{t: topUpType, name: "TopUp", about: "The balance after a top-up, with its ledger entry."},
	named[unroutedOut]("UnroutedMessage", "An inbound message no routing rule gave to a client."),
	named[auditOut]("AuditEntry", "A change recorded in the audit log."),
	named[suppressionOut]("Suppression", "A phone on a client's suppression list."),
	named[providerOut]("Provider", "A configured provider that sends; never its credentials."),
	named[campaignOut]("Campaign", "A campaign with its counts. The create answer adds preview, encodings and segments; lists give replied as null."),
	named[recipientOut]("CampaignRecipient", "One recipient of a campaign, with the message rendered for them."),
	named[autoReplyIO]("AutoReply", "An auto-reply rule."),
	named[dltTemplateOut]("DLTTemplate", "A DLT template (India): the DLT template and entity ids, the sender header, and the text with its {#var#} placeholders."),
	named[model.BusinessHours]("BusinessHours", "Business hours: a time zone, days, and the open and close times."),
	named[voiceOut]("VoiceAnswer", "How calls are answered: the answer in effect, whether it was configured at this level, and whose it is."),
	named[bulkOut]("BulkReport", "A bulk send's report: the accepted items' messages and the refused items' errors, by index."),
	named[bulkItemOut]("BulkItem", "An accepted item of a bulk send."),
	named[itemError]("BulkItemError", "A refused item of a bulk send: its index and the error."),
	named[importer.Report]("ImportReport", "A contact import's report."),
	named[twilioCredentialsOut]("TwilioCredentials", "A client's Account SID and auth token for the Twilio-compatible API; the token is shown only here."),
	named[twilioMessage]("TwilioMessage", "A message in Twilio's shape."),
	named[twilioMedia]("TwilioMedia", "An attachment in Twilio's Media shape; uri is where the provider keeps the file."),
	named[twilioError]("TwilioError", "An error of the Twilio-compatible API, in Twilio's shape and codes (Ibiki's own: 99402 insufficient credits; 20000 + the HTTP status where Twilio has no code)."),
	named[twilioMessageList]("TwilioMessageList", "A page of messages in Twilio's list shape."),
	named[twilioMediaList]("TwilioMediaList", "A message's media, in Twilio's list shape (one page)."),
}

// twilioMessageList and twilioMediaList are the shapes twilioListMessages and twilioListMedia
// answer (they build them as anonymous structs).
type twilioMessageList struct {
	Messages []twilioMessage `json:"messages"`
	twilioPage
}

type twilioMediaList struct {
	MediaList []twilioMedia `json:"media_list"`
	twilioPage
}

// Schemas of answers the handlers build as maps.
var (
	simulatedSchema = object(schema{"id": str("The message's id (msg_…)."), "provider": str("simulator"),
		"provider_message_id": str("The simulator's id (sim_…).")}, "id", "provider", "provider_message_id")
	providersSchema = func(s *schemaSet) schema {
		return object(schema{"data": schema{"type": "array", "items": s.of(reflect.TypeFor[providerOut](), answer)}}, "data")
	}
	importStatusSchema  = object(schema{"id": str("imp_…"), "status": str("The import's status.")}, "id", "status")
	twilioAccountSchema = object(schema{
		"sid": str("The Account SID."), "owner_account_sid": str("The Account SID."), "friendly_name": str("The client's name."),
		"status": enumOf("suspended while the client is inactive", "active", "suspended"), "type": enumOf("", "Full"),
		"date_created": schema{"type": []any{"string", "null"}}, "date_updated": schema{"type": []any{"string", "null"}},
		"auth_token": schema{"type": "null", "description": "Never shown."}, "uri": str(""),
		"subresource_uris": object(schema{"messages": str(""), "balance": str("")}, "messages", "balance"),
	}, "sid", "owner_account_sid", "friendly_name", "status", "type", "date_created", "date_updated", "auth_token", "uri", "subresource_uris")
	twilioBalanceSchema = object(schema{"account_sid": str(""), "balance": str("The balance in price units, e.g. \"12.34\"."),
		"currency": str("IBIKI_PRICE_UNIT.")}, "account_sid", "balance", "currency")
	acceptedSchema = object(schema{"id": str("The message's Ibiki id."),
		"duplicate": schema{"type": "boolean", "description": "The provider had delivered this message before."}}, "id", "duplicate")
	campaignExtra = map[string]schemaFn{"campaign": answerOf[campaignOut]()}
	importExtra   = map[string]schemaFn{"import": answerOf[importer.Report]()}
)

// Twilio form fields of a send.
var twilioSendForm = func() bodyContent {
	fields := schema{
		"To":                  str("The recipient (E.164, or whatsapp:+…)."),
		"From":                str("A number of the client or of the shared pool (or whatsapp:+…)."),
		"Body":                str("The text; may be empty with MediaUrl."),
		"MediaUrl":            schema{"type": []any{"string", "array"}, "items": schema{"type": "string"}, "description": "Up to 10 absolute http(s) URLs; repeat the field."},
		"StatusCallback":      str("Where Twilio-shaped status callbacks of this message are posted."),
		"MessagingServiceSid": str("Accepted (MG…) and not used."),
		"ValidityPeriod":      str("Seconds, 1 to 36000: the message is failed if not sent by then."),
		"ScheduleType":        enumOf("With SendAt.", "fixed"),
		"SendAt":              str("RFC 3339; the message is scheduled."),
	}
	enc := map[string]oaEncoding{}
	for k := range fields {
		enc[k] = oaEncoding{AllowReserved: true}
	}
	return bodyContent{typ: "application/x-www-form-urlencoded", encoding: enc,
		sch: fixed(schema{"type": "object", "properties": fields, "required": []any{"To"},
			"description": "Twilio's Messages create parameters. ContentSid, ContentVariables, ApplicationSid, PersistentAction, SendAsMms and FallbackFrom are refused (20400); other parameters are ignored."})}
}()

var twilioUpdateForm = func() bodyContent {
	fields := schema{"Status": enumOf("Cancels a scheduled message.", "canceled"), "Body": enumOf("Redacts the message's text.", "")}
	return bodyContent{typ: "application/x-www-form-urlencoded",
		sch: fixed(schema{"type": "object", "properties": fields, "description": "Status=canceled, or Body= (empty)."})}
}()

func formBody(c bodyContent) *reqBody { return &reqBody{required: true, content: []bodyContent{c}} }

// multipart is an upload's body: the file and the form fields.
func multipart(about string, fields schema, required ...string) bodyContent {
	props := schema{"file": schema{"type": "string", "contentMediaType": "text/csv", "description": "The CSV file."}}
	for k, v := range fields {
		props[k] = v
	}
	return bodyContent{typ: "multipart/form-data", sch: fixed(schema{"type": "object", "properties": props,
		"required": anySlice(required), "additionalProperties": false, "description": about})}
}

// Error codes shared by operations.
var (
	sendErrs = map[int][]string{
		400: {"invalid_field", "missing_field"},
		402: {"insufficient_credits"},
		403: {"client_inactive"},
		409: {"conflict"},
		422: {"recipient_opted_out", "sender_not_allowed", "sender_not_supported", "channel_not_supported", "media_not_supported",
			"dlt_template_required", "dlt_template_unknown", "dlt_template_mismatch", "dlt_sender_mismatch"},
	}
	twilioSendErrs = map[int][]string{
		400: {"20400", "21100", "21211", "21212", "21602", "21604", "21606", "21609", "21610", "21612", "21617", "21620", "21624", "21701", "35111", "35114", "35115"},
		402: {"99402"},
		403: {"20403"},
		409: {"20409"},
		415: {"20415"},
		422: {"20422"},
	}
	campaignMoveErrs = map[int][]string{409: {"campaign_status"}}
)

// routeTable is every operation of the document.
func routeTable() []operation {
	ops := slices.Concat(adminRoutes(), clientRoutes(), twilioRoutes(), otherRoutes())
	return ops
}

func adminRoutes() []operation {
	clientAnswer := answerOf[clientOut]()
	voice := answerOf[voiceOut]()
	return []operation{
		{route: "POST /admin/v1/clients", id: "createClient", tag: tagAdminClients, auth: adminToken, idem: true,
			summary: "Create a client",
			about:   "The answer holds the client's API key and webhook secret, shown this once. Repeated with its Idempotency-Key it creates nothing and answers 409 secrets_shown_once.",
			body:    jsonBody[createClientIn]("id"), replies: []reply{jsonReply(201, "The client, with api_key and webhook_secret.", clientAnswer)},
			errs: map[int][]string{409: {"client_exists", "secrets_shown_once", "conflict"}}},
		{route: "GET /admin/v1/clients", id: "listClients", tag: tagAdminClients, auth: adminToken, paged: true,
			summary: "List clients", about: "Ordered by id. Secrets are never listed.",
			replies: []reply{pageReply("A page of clients.", clientAnswer)}},
		{route: "GET /admin/v1/clients/{id}", id: "getClient", tag: tagAdminClients, auth: adminToken,
			summary: "Get a client", replies: []reply{jsonReply(200, "The client.", clientAnswer)}},
		{route: "PATCH /admin/v1/clients/{id}", id: "updateClient", tag: tagAdminClients, auth: adminToken,
			summary: "Change a client", about: "Send only the fields to change. `webhook_url` \"\" removes the URL (saving it re-enables an endpoint disabled by a 410); `quiet_hours` \"HH:MM-HH:MM\" or \"\"; `active` false stops the client's API key and routing to it.",
			body: jsonBody[updateClientIn](), replies: []reply{jsonReply(200, "The client.", clientAnswer)}},
		{route: "POST /admin/v1/clients/{id}/rotate-key", id: "rotateClientKey", tag: tagAdminClients, auth: adminToken,
			summary: "Rotate a client's API key", about: "Makes a new key and revokes the older ones at once. No body.",
			replies: []reply{jsonReply(200, "The client, with the new api_key.", clientAnswer)}},
		{route: "POST /admin/v1/clients/{id}/rotate-webhook-secret", id: "rotateWebhookSecret", tag: tagAdminClients, auth: adminToken,
			summary: "Rotate a client's webhook secret", about: "For 24 hours deliveries carry two signatures, with the new and the previous secret. No body.",
			replies: []reply{jsonReply(200, "The client, with the new webhook_secret and previous_webhook_secret_expires_at.", clientAnswer)}},
		{route: "POST /admin/v1/clients/{id}/twilio-credentials", id: "twilioCredentials", tag: tagAdminClients, auth: adminToken,
			summary: "Make or rotate a client's Twilio-compatible credentials", about: "The Account SID stays; a new auth token replaces the previous one. No body.",
			replies: []reply{jsonReply(201, "The first credentials of the client.", answerOf[twilioCredentialsOut]()),
				jsonReply(200, "A new auth token for the client's Account SID.", answerOf[twilioCredentialsOut]())}},
		{route: "POST /admin/v1/clients/{id}/smpp-password", id: "smppPassword", tag: tagAdminClients, auth: adminToken,
			summary: "Make or rotate a client's SMPP password", about: "The client binds to the SMPP server (IBIKI_SMPP_ADDR) with its id as system_id and this password, shown only here; the previous password stops working for new binds. The optional body sets the login's allowed_ips (addresses or CIDR prefixes, [] for any), max_binds (1-64, default 4), mo_delivery (\"fallback\": inbound messages as deliver_sm over a receiver bind when one is up, else to the webhook; \"both\") and rate (submit_sm a second, 0 for no limit); left out, they keep their values.",
			body:    &reqBody{json: true, content: []bodyContent{{typ: "application/json", sch: requestOf[smppPasswordIn]()}}},
			replies: []reply{jsonReply(200, "The login, with its new password.", answerOf[smppPasswordOut]())},
			errs:    map[int][]string{409: {"smpp_system_id_too_long"}}},

		{route: "POST /admin/v1/numbers", id: "createNumber", tag: tagAdminNumbers, auth: adminToken, idem: true,
			summary: "Add a receiving number", body: jsonBody[createNumberIn]("number"),
			replies: []reply{jsonReply(201, "The number.", answerOf[numberOut]())},
			errs:    map[int][]string{409: {"number_exists", "conflict"}}},
		{route: "GET /admin/v1/numbers", id: "listNumbers", tag: tagAdminNumbers, auth: adminToken, paged: true,
			summary: "List receiving numbers", about: "Ordered by number.", replies: []reply{pageReply("A page of numbers.", answerOf[numberOut]())}},
		{route: "PATCH /admin/v1/numbers/{number}", id: "updateNumber", tag: tagAdminNumbers, auth: adminToken,
			summary: "Change a number's client or provider", about: "`client_id` \"\" or null returns the number to the shared pool; leave a field out to keep it.",
			body: &reqBody{required: true, json: true, content: []bodyContent{{typ: "application/json", sch: fixed(object(schema{
				"client_id": schema{"type": []any{"string", "null"}, "description": "A client's id; \"\" or null: the shared pool."},
				"provider":  schema{"type": []any{"string", "null"}, "description": "A configured provider that sends; \"\": the default."},
			}))}}},
			replies: []reply{jsonReply(200, "The number.", answerOf[numberOut]())}},
		{route: "DELETE /admin/v1/numbers/{number}", id: "deleteNumber", tag: tagAdminNumbers, auth: adminToken,
			summary: "Remove a number", replies: []reply{noContent("Removed.")}},
		{route: "GET /admin/v1/numbers/{number}/voice", id: "getNumberVoice", tag: tagAdminAnswers, auth: adminToken,
			summary: "How a number answers calls", about: "The answer in effect: the number's, else its client's, else the default.",
			replies: []reply{jsonReply(200, "The voice answer.", voice)}},
		{route: "PUT /admin/v1/numbers/{number}/voice", id: "putNumberVoice", tag: tagAdminAnswers, auth: adminToken,
			summary: "Set how a number answers calls", body: jsonBody[model.VoiceAnswer]("action"),
			replies: []reply{jsonReply(200, "The voice answer, defaults filled.", voice)}},
		{route: "DELETE /admin/v1/numbers/{number}/voice", id: "deleteNumberVoice", tag: tagAdminAnswers, auth: adminToken,
			summary: "Remove a number's voice answer", about: "Calls fall back to the client's answer, else the default.",
			replies: []reply{noContent("Removed.")}},
		{route: "POST /admin/v1/services", id: "adminCreateService", tag: tagAdminServices, auth: adminToken,
			summary: "Put a service on a number",
			about:   "With client_id, for that client on one of its numbers; without, the operator's own on a pool number (it answers for whichever client the message routes to). The spec (commands, flows, texts, session TTL, rate limit) is validated whole; an error names the field by its path (flows.register.steps[0].expect).",
			body:    jsonBody[serviceIn]("number", "commands"), replies: []reply{jsonReply(201, "The service.", answerOf[serviceOut]())},
			errs: map[int][]string{409: {"number_has_service"}}},
		{route: "GET /admin/v1/services", id: "adminListServices", tag: tagAdminServices, auth: adminToken,
			summary: "List the services", replies: []reply{pageReply("Every service (next_cursor is null).", answerOf[serviceOut]())}},
		{route: "GET /admin/v1/services/{id}", id: "adminGetService", tag: tagAdminServices, auth: adminToken,
			summary: "Get a service", replies: []reply{jsonReply(200, "The service.", answerOf[serviceOut]())}},
		{route: "PUT /admin/v1/services/{id}", id: "adminPutService", tag: tagAdminServices, auth: adminToken,
			summary: "Replace a service's spec", about: "Name, active and the whole spec are replaced; the number stays. Sessions in progress go on; one whose step is gone starts afresh.",
			body: jsonBody[serviceIn]("commands"), replies: []reply{jsonReply(200, "The service.", answerOf[serviceOut]())}},
		{route: "DELETE /admin/v1/services/{id}", id: "adminDeleteService", tag: tagAdminServices, auth: adminToken,
			summary: "Remove a service", about: "Its sessions go with it; its exchange log stays.", replies: []reply{noContent("Removed.")}},
		{route: "GET /admin/v1/services/{id}/log", id: "adminServiceLog", tag: tagAdminServices, auth: adminToken, paged: true,
			summary: "A service's exchange log", about: "Each message the service took, newest first: the command or flow step, whether it was handled and why, the answer, the callout's status and time.",
			replies: []reply{pageReply("Exchanges.", answerOf[exchangeOut]())}},
		{route: "GET /admin/v1/clients/{id}/auto-replies", id: "adminListAutoReplies", tag: tagAdminAnswers, auth: adminToken,
			summary: "List a client's auto-replies", replies: []reply{pageReply("Every rule (next_cursor is null).", answerOf[autoReplyIO]())}},
		{route: "PUT /admin/v1/clients/{id}/auto-replies", id: "adminPutAutoReply", tag: tagAdminAnswers, auth: adminToken,
			summary: "Create or replace a client's auto-reply", about: "Replaces the rule of the same channel and number.",
			body: jsonBody[autoReplyIO]("text"), replies: []reply{jsonReply(200, "The rule.", answerOf[autoReplyIO]())}},
		{route: "DELETE /admin/v1/clients/{id}/auto-replies/{rule}", id: "adminDeleteAutoReply", tag: tagAdminAnswers, auth: adminToken,
			summary: "Remove a client's auto-reply", replies: []reply{noContent("Removed.")}},
		{route: "GET /admin/v1/clients/{id}/voice", id: "adminGetClientVoice", tag: tagAdminAnswers, auth: adminToken,
			summary: "How a client's numbers answer calls", replies: []reply{jsonReply(200, "The voice answer.", voice)}},
		{route: "PUT /admin/v1/clients/{id}/voice", id: "adminPutClientVoice", tag: tagAdminAnswers, auth: adminToken,
			summary: "Set how a client's numbers answer calls", body: jsonBody[model.VoiceAnswer]("action"),
			replies: []reply{jsonReply(200, "The voice answer, defaults filled.", voice)}},
		{route: "DELETE /admin/v1/clients/{id}/voice", id: "adminDeleteClientVoice", tag: tagAdminAnswers, auth: adminToken,
			summary: "Remove a client's voice answer", replies: []reply{noContent("Removed.")}},

		{route: "GET /admin/v1/unrouted", id: "listUnrouted", tag: tagAdminRouting, auth: adminToken, paged: true,
			summary: "List unrouted messages", about: "Newest first.", replies: []reply{pageReply("A page of unrouted messages.", answerOf[unroutedOut]())}},
		{route: "POST /admin/v1/unrouted/{id}/assign", id: "assignUnrouted", tag: tagAdminRouting, auth: adminToken,
			summary: "Assign an unrouted message to a client", about: "From then on it is handled like a routed message (routed_by: assigned).",
			body: jsonBody[assignIn]("client_id"), replies: []reply{jsonReply(200, "The message.", answerOf[webhook.MessageData]())},
			errs: map[int][]string{409: {"not_unrouted"}, 422: {"client_inactive"}}},

		{route: "GET /admin/v1/deliveries", id: "listAllDeliveries", tag: tagAdminDelivery, auth: adminToken, paged: true,
			params: []param{statusQuery, clientQuery}, summary: "List every client's webhook deliveries", about: "Newest first.",
			replies: []reply{pageReply("A page of deliveries.", answerOf[deliveryOut]())}},
		{route: "GET /admin/v1/deliveries/{id}", id: "getAnyDelivery", tag: tagAdminDelivery, auth: adminToken,
			summary: "Get a delivery", replies: []reply{jsonReply(200, "The delivery, with its attempts and payload.", answerOf[deliveryOut]())}},
		{route: "POST /admin/v1/deliveries/{id}/replay", id: "replayDelivery", tag: tagAdminDelivery, auth: adminToken,
			summary: "Replay a finished delivery", about: "Same webhook-id and body, a new signature; the attempt count starts again. No body.",
			replies: []reply{jsonReply(202, "The delivery, pending again (attempts is empty in this answer).", answerOf[deliveryOut]())},
			errs:    map[int][]string{409: {"delivery_pending"}}},

		{route: "POST /admin/v1/clients/{id}/credits", id: "topUp", tag: tagAdminCredits, auth: adminToken, idem: true,
			summary: "Top up a client's credits", about: "A negative amount corrects a mistake and cannot take the balance below zero (402).",
			body: jsonBody[topUpIn]("amount_cents"), replies: []reply{jsonReply(200, "The new balance and the ledger entry.", answerOfType(topUpType))},
			errs: map[int][]string{402: {"insufficient_credits"}, 409: {"conflict"}}},
		{route: "GET /admin/v1/clients/{id}/ledger", id: "clientLedger", tag: tagAdminCredits, auth: adminToken, paged: true,
			summary: "A client's ledger", about: "Newest first; each entry's balance_cents is the one below it plus its amount_cents.",
			replies: []reply{pageReply("A page of ledger entries.", answerOf[ledgerOut]())}},

		{route: "POST /admin/v1/simulator/inbound", id: "simulateInbound", tag: tagAdminOther, auth: adminToken,
			summary: "Inject a contact's reply through the simulator", about: "Through the real inbound path, as if the simulator provider had received it.",
			body: jsonBody[simulateIn]("from", "body"), replies: []reply{jsonReply(202, "The accepted message.", fixed(simulatedSchema))},
			errs: map[int][]string{404: {"simulator_not_configured"}}},
		{route: "GET /admin/v1/providers", id: "listProviders", tag: tagAdminOther, auth: adminToken,
			summary: "List the providers that send", about: "Whole (no paging); never their credentials.",
			replies: []reply{jsonReply(200, "The providers.", providersSchema)}},
		{route: "GET /admin/v1/contacts/export", id: "adminExportContacts", tag: tagAdminOther, auth: adminToken,
			params:  []param{clientQuery, formatQuery},
			summary: "Export every client's contacts as CSV", about: "With a client_id column; cells a spreadsheet would run as a formula get an apostrophe.",
			replies: []reply{csvReply("The CSV.")}},
		{route: "GET /admin/v1/audit", id: "listAudit", tag: tagAdminOther, auth: adminToken, paged: true, params: []param{clientQuery},
			summary: "The audit log", about: "Changes made through the admin API and the dashboard; newest first.",
			replies: []reply{pageReply("A page of audit entries.", answerOf[auditOut]())}},

		{route: "GET /admin/v1/clients/{id}/suppressions", id: "adminListSuppressions", tag: tagAdminOptOut, auth: adminToken, paged: true,
			summary: "A client's suppression list", about: "Ordered by phone.", replies: []reply{pageReply("A page of suppressions.", answerOf[suppressionOut]())}},
		{route: "POST /admin/v1/clients/{id}/suppressions", id: "adminAddSuppression", tag: tagAdminOptOut, auth: adminToken, idem: true,
			summary: "Add a phone to a client's suppression list", body: jsonBody[suppressionIn]("phone"),
			replies: []reply{jsonReply(201, "Added.", answerOf[suppressionOut]()), jsonReply(200, "It was there already.", answerOf[suppressionOut]())},
			errs:    map[int][]string{409: {"conflict"}}},
		{route: "GET /admin/v1/clients/{id}/dlt-templates", id: "adminListDLTTemplates", tag: tagAdminClients, auth: adminToken, paged: true,
			summary: "A client's DLT templates", about: "Newest first.", replies: []reply{pageReply("A page of DLT templates.", answerOf[dltTemplateOut]())}},
		{route: "POST /admin/v1/clients/{id}/dlt-templates", id: "adminCreateDLTTemplate", tag: tagAdminClients, auth: adminToken, idem: true,
			summary: "Register a DLT template for a client", body: jsonBody[dltTemplateIn]("template_id", "entity_id", "sender", "text"),
			replies: []reply{jsonReply(201, "The template.", answerOf[dltTemplateOut]())},
			errs:    map[int][]string{400: {"invalid_field", "missing_field"}, 409: {"dlt_template_exists", "conflict"}}},
		{route: "DELETE /admin/v1/clients/{id}/dlt-templates/{template}", id: "adminDeleteDLTTemplate", tag: tagAdminClients, auth: adminToken,
			summary: "Remove a client's DLT template", about: "Messages sent under it keep its ids.", replies: []reply{noContent("Removed.")}},
		{route: "DELETE /admin/v1/clients/{id}/suppressions/{phone}", id: "adminRemoveSuppression", tag: tagAdminOptOut, auth: adminToken,
			summary: "Remove a phone from a client's suppression list", replies: []reply{noContent("Removed.")}},
	}
}

func clientRoutes() []operation {
	contact := answerOf[contactOut]()
	msg := answerOf[messageOut]()
	campaign := answerOf[campaignOut]()
	voice := answerOf[voiceOut]()
	return []operation{
		{route: "POST /api/v1/contacts", id: "createContact", tag: tagContacts, auth: clientKey, idem: true,
			summary: "Add a contact", body: jsonBody[createContactIn]("phone"), replies: []reply{jsonReply(201, "The contact.", contact)},
			errs: map[int][]string{409: {"contact_exists", "phone_belongs_to_another_client", "conflict"}}},
		{route: "GET /api/v1/contacts", id: "listContacts", tag: tagContacts, auth: clientKey, paged: true,
			params: []param{query("q", "Text found (case-insensitive) in the phone, names or business; at most 100 characters.", schema{"type": "string"}),
				query("tag", "Only the contacts with this tag.", schema{"type": "string"})},
			summary: "List contacts", about: "Newest first.", replies: []reply{pageReply("A page of contacts.", contact)}},
		{route: "POST /api/v1/contacts/import", id: "importContacts", tag: tagContacts, auth: clientKey, idem: true,
			summary: "Import contacts from a CSV",
			about:   "Whole or nothing: valid rows are merged in one transaction at the end. A file refused part-way is recorded as a failed import whose report comes under `import` in the error answer.",
			body: &reqBody{required: true, content: []bodyContent{multipart("The CSV and its options.", schema{
				"mapping": str("A JSON object: field → column header, or \"#3\" for the third column."),
				"tag":     str("A tag put on every imported contact."),
				"extra":   enumOf("keep (the default: unmapped columns become custom fields) or ignore.", "", "keep", "ignore"),
			}, "file")}},
			replies:  []reply{jsonReply(200, "The import's report.", answerOf[importer.Report]())},
			errs:     map[int][]string{400: {"invalid_field", "missing_field"}, 409: {"phone_belongs_to_another_client", "conflict"}},
			errExtra: importExtra},
		{route: "GET /api/v1/contacts/export", id: "exportContacts", tag: tagContacts, auth: clientKey, params: []param{formatQuery},
			summary: "Export the contacts as CSV", replies: []reply{csvReply("The CSV.")}},
		{route: "GET /api/v1/contacts/imports/{id}", id: "getImport", tag: tagContacts, auth: clientKey,
			summary: "An import's report",
			replies: []reply{jsonReply(200, "The report (or only id and status while it has none).", func(s *schemaSet) schema {
				return schema{"anyOf": []any{s.of(reflect.TypeFor[importer.Report](), answer), importStatusSchema}}
			})}},
		{route: "GET /api/v1/contacts/{id}", id: "getContact", tag: tagContacts, auth: clientKey,
			summary: "Get a contact", replies: []reply{jsonReply(200, "The contact.", contact)}},
		{route: "PATCH /api/v1/contacts/{id}", id: "updateContact", tag: tagContacts, auth: clientKey,
			summary: "Change a contact", about: "`fields` and `tags` replace all of them; the fields left out stay.",
			body: jsonBody[updateContactIn](), replies: []reply{jsonReply(200, "The contact.", contact)},
			errs: map[int][]string{409: {"contact_exists", "phone_belongs_to_another_client", "conflict"}}},
		{route: "DELETE /api/v1/contacts/{id}", id: "deleteContact", tag: tagContacts, auth: clientKey,
			summary: "Delete a contact", replies: []reply{noContent("Deleted.")}},

		{route: "GET /api/v1/conversations", id: "listConversations", tag: tagConversations, auth: clientKey, paged: true,
			params:  []param{channelQuery, query("to", "The receiving number the contact last wrote in on (last_inbound_to).", schema{"type": "string"})},
			summary: "List conversations", about: "Most recently active first.", replies: []reply{pageReply("A page of conversations.", answerOf[conversationOut]())}},
		{route: "GET /api/v1/conversations/{phone}/messages", id: "listConversationMessages", tag: tagConversations, auth: clientKey, paged: true,
			params:  []param{query("channel", "The conversation's channel: sms (the default), whatsapp or voice.", channelQuery.sch)},
			summary: "The messages of a conversation", about: "Newest first.",
			replies: []reply{pageReply("A page of messages.", answerOf[webhook.MessageData]())}},
		{route: "POST /api/v1/conversations/{phone}/messages", id: "replyInConversation", tag: tagConversations, auth: clientKey, idem: true,
			summary: "Reply in a conversation", about: "Answers like POST /api/v1/messages; the conversation of the channel must exist; replies go ahead of bulk traffic.",
			body: jsonBody[replyIn](), replies: []reply{jsonReply(202, "The queued message.", msg)}, errs: sendErrs},

		{route: "POST /api/v1/messages", id: "sendMessage", tag: tagMessages, auth: clientKey, idem: true,
			summary: "Send a message",
			about:   "Validated, charged (segments × rate_cents) and queued in one transaction before the 202. `to` may be national (IBIKI_DEFAULT_REGION) or whatsapp:+…; `from` a number of the client or the pool. With `send_at` the message is `scheduled` until then; with `validity_period` it fails (30036, refunded) if it cannot be handed to its provider in time.",
			body:    jsonBody[sendIn]("to"), replies: []reply{jsonReply(202, "The queued message.", msg)}, errs: sendErrs},
		{route: "POST /api/v1/messages/bulk", id: "sendBulk", tag: tagMessages, auth: clientKey, idem: true,
			summary: "Send in bulk",
			about:   "Either `messages`, or a `template` with its `contacts`; each item is validated on its own and the accepted ones are charged and queued together. With `campaign`, a template and contacts make a campaign instead (201).",
			body:    jsonBody[bulkIn](),
			replies: []reply{jsonReply(202, "The report.", answerOf[bulkOut]()), jsonReply(201, "The campaign made of the template and contacts.", campaign),
				jsonReply(422, "no_valid_messages: no item was accepted (with the report); or no_valid_recipients for a campaign.", func(s *schemaSet) schema {
					return schema{"anyOf": []any{s.of(reflect.TypeFor[bulkRefusedOut](), answer),
						object(schema{"error": s.of(reflectTypeOfError, answer)}, "error")}}
				})},
			errs: map[int][]string{400: {"invalid_field", "missing_field"}, 402: {"insufficient_credits"}, 403: {"client_inactive"}, 409: {"conflict"}}},
		{route: "GET /api/v1/messages", id: "listMessages", tag: tagMessages, auth: clientKey, paged: true,
			params: []param{query("status", "A message status.", schema{"type": "string", "enum": anySlice(enumValues[reflect.TypeFor[model.MessageStatus]()])}),
				query("to", "The receiving number of an inbound message, the recipient of an outbound one.", schema{"type": "string"}),
				query("direction", "inbound or outbound.", schema{"type": "string", "enum": []any{"inbound", "outbound"}}), channelQuery},
			summary: "List messages", about: "Both directions, newest first.", replies: []reply{pageReply("A page of messages.", msg)}},
		{route: "GET /api/v1/messages/{id}", id: "getMessage", tag: tagMessages, auth: clientKey,
			summary: "Get a message", replies: []reply{jsonReply(200, "The message.", msg)}},
		{route: "POST /api/v1/messages/{id}/cancel", id: "cancelMessage", tag: tagMessages, auth: clientKey,
			summary: "Cancel a scheduled message",
			about:   "A message sent with `send_at` that has not started: it becomes `canceled`, is never sent and is refunded; its client hears of it (message.status).",
			replies: []reply{jsonReply(200, "The canceled message.", msg)}, errs: map[int][]string{404: {"not_found"}, 409: {"not_scheduled"}}},

		{route: "POST /api/v1/services", id: "createService", tag: tagServices, auth: clientKey,
			summary: "Put a service on a number",
			about:   "The number (or short code) must be one of the client's. The spec (commands, flows, texts, session TTL, rate limit) is validated whole; an error names the field by its path (flows.register.steps[0].expect).",
			body:    jsonBody[serviceIn]("number", "commands"), replies: []reply{jsonReply(201, "The service.", answerOf[serviceOut]())},
			errs: map[int][]string{409: {"number_has_service"}}},
		{route: "GET /api/v1/services", id: "listServices", tag: tagServices, auth: clientKey,
			summary: "List the services", replies: []reply{pageReply("Every service (next_cursor is null).", answerOf[serviceOut]())}},
		{route: "GET /api/v1/services/{id}", id: "getService", tag: tagServices, auth: clientKey,
			summary: "Get a service", replies: []reply{jsonReply(200, "The service.", answerOf[serviceOut]())}},
		{route: "PUT /api/v1/services/{id}", id: "putService", tag: tagServices, auth: clientKey,
			summary: "Replace a service's spec", about: "Name, active and the whole spec are replaced; the number stays. Sessions in progress go on; one whose step is gone starts afresh.",
			body: jsonBody[serviceIn]("commands"), replies: []reply{jsonReply(200, "The service.", answerOf[serviceOut]())}},
		{route: "DELETE /api/v1/services/{id}", id: "deleteService", tag: tagServices, auth: clientKey,
			summary: "Remove a service", about: "Its sessions go with it; its exchange log stays.", replies: []reply{noContent("Removed.")}},
		{route: "GET /api/v1/services/{id}/log", id: "serviceLog", tag: tagServices, auth: clientKey, paged: true,
			summary: "A service's exchange log", about: "Each message the service took, newest first: the command or flow step, whether it was handled and why, the answer, the callout's status and time.",
			replies: []reply{pageReply("Exchanges.", answerOf[exchangeOut]())}},
		{route: "GET /api/v1/auto-replies", id: "listAutoReplies", tag: tagAnswers, auth: clientKey,
			summary: "List the auto-replies", replies: []reply{pageReply("Every rule (next_cursor is null).", answerOf[autoReplyIO]())}},
		{route: "PUT /api/v1/auto-replies", id: "putAutoReply", tag: tagAnswers, auth: clientKey,
			summary: "Create or replace an auto-reply", about: "Replaces the rule of the same channel and number. The most specific rule answers.",
			body: jsonBody[autoReplyIO]("text"), replies: []reply{jsonReply(200, "The rule.", answerOf[autoReplyIO]())}},
		{route: "DELETE /api/v1/auto-replies/{rule}", id: "deleteAutoReply", tag: tagAnswers, auth: clientKey,
			summary: "Remove an auto-reply", replies: []reply{noContent("Removed.")}},
		{route: "GET /api/v1/voice", id: "getVoice", tag: tagAnswers, auth: clientKey,
			summary: "How the client's numbers answer calls", replies: []reply{jsonReply(200, "The voice answer.", voice)}},
		{route: "PUT /api/v1/voice", id: "putVoice", tag: tagAnswers, auth: clientKey,
			summary: "Set how the client's numbers answer calls", body: jsonBody[model.VoiceAnswer]("action"),
			replies: []reply{jsonReply(200, "The voice answer, defaults filled.", voice)}},
		{route: "DELETE /api/v1/voice", id: "deleteVoice", tag: tagAnswers, auth: clientKey,
			summary: "Remove the client's voice answer", replies: []reply{noContent("Removed.")}, errs: map[int][]string{404: {"not_found"}}},
		{route: "GET /api/v1/numbers/{number}/voice", id: "getNumberVoiceOwn", tag: tagAnswers, auth: clientKey,
			summary: "How one of the client's numbers answers calls", about: "A number not dedicated to the client is not found.",
			replies: []reply{jsonReply(200, "The voice answer.", voice)}},
		{route: "PUT /api/v1/numbers/{number}/voice", id: "putNumberVoiceOwn", tag: tagAnswers, auth: clientKey,
			summary: "Set how one of the client's numbers answers calls", body: jsonBody[model.VoiceAnswer]("action"),
			replies: []reply{jsonReply(200, "The voice answer, defaults filled.", voice)}},
		{route: "DELETE /api/v1/numbers/{number}/voice", id: "deleteNumberVoiceOwn", tag: tagAnswers, auth: clientKey,
			summary: "Remove a number's voice answer", replies: []reply{noContent("Removed.")}},

		{route: "GET /api/v1/balance", id: "getBalance", tag: tagCredits, auth: clientKey,
			summary: "The balance", replies: []reply{jsonReply(200, "The balance and rate.", answerOf[balanceOut]())}},
		{route: "GET /api/v1/ledger", id: "listLedger", tag: tagCredits, auth: clientKey, paged: true,
			summary: "The ledger", about: "Every movement, newest first.", replies: []reply{pageReply("A page of ledger entries.", answerOf[ledgerOut]())}},

		{route: "POST /api/v1/campaigns", id: "createCampaign", tag: tagCampaigns, auth: clientKey, idem: true,
			summary: "Create a campaign",
			about:   "Multipart with a CSV `file`, or JSON with a `tag` (the client's contacts with it). Unless a draft, it starts: its whole cost is reserved (402 otherwise, the campaign stays a draft, under `campaign`).",
			body: &reqBody{required: true, json: true, content: []bodyContent{
				{typ: "application/json", sch: requestOf[campaignIn]("message", "tag")},
				multipart("The list and the campaign's fields.", schema{
					"message":     str("The template: [first name], [phone], any column, [name|default]."),
					"name":        str("The campaign's name."),
					"schedule_at": str("RFC 3339: when it sends."),
					"draft":       str("true: store it as a draft (the preview)."),
					"quiet_hours": str("true: hold sends in the client's quiet hours."),
					"mapping":     str("A JSON object: field → column header."),
				}, "file", "message")}},
			replies:  []reply{jsonReply(201, "The campaign, with preview, encodings and segments.", campaign)},
			errs:     map[int][]string{400: {"invalid_field", "missing_field"}, 402: {"insufficient_credits"}, 403: {"client_inactive"}, 409: {"campaign_status", "conflict"}, 422: {"no_valid_recipients"}},
			errExtra: campaignExtra},
		{route: "GET /api/v1/campaigns", id: "listCampaigns", tag: tagCampaigns, auth: clientKey, paged: true,
			summary: "List campaigns", about: "Newest first; replied is null here (read one campaign).", replies: []reply{pageReply("A page of campaigns.", campaign)}},
		{route: "GET /api/v1/campaigns/{id}", id: "getCampaign", tag: tagCampaigns, auth: clientKey,
			summary: "Get a campaign", replies: []reply{jsonReply(200, "The campaign.", campaign)}},
		{route: "GET /api/v1/campaigns/{id}/recipients", id: "listRecipients", tag: tagCampaigns, auth: clientKey, paged: true,
			params:  []param{query("status", "A recipient status (pending, queued, opted_out, cancelled) or a message status (sent, delivered, failed…).", schema{"type": "string"})},
			summary: "A campaign's recipients", about: "In list order.", replies: []reply{pageReply("A page of recipients.", answerOf[recipientOut]())}},
		{route: "GET /api/v1/campaigns/{id}/results", id: "campaignResults", tag: tagCampaigns, auth: clientKey,
			summary: "A campaign's results as CSV", replies: []reply{csvReply("line, phone, status, message_status, error_code, error, replied, message_id, body.")}},
		campaignMove("start", "Start a draft", "Reserves the whole cost.", map[int][]string{402: {"insufficient_credits"}, 403: {"client_inactive"}, 409: {"campaign_status"}}),
		campaignMove("pause", "Pause a campaign", "Answered once the sends under way have finished.", campaignMoveErrs),
		campaignMove("resume", "Resume a paused campaign", "", map[int][]string{402: {"insufficient_credits"}, 403: {"client_inactive"}, 409: {"campaign_status"}}),
		campaignMove("cancel", "Cancel a campaign", "Refunds exactly what was not sent.", campaignMoveErrs),

		{route: "GET /api/v1/suppressions", id: "listSuppressions", tag: tagSuppressions, auth: clientKey, paged: true,
			summary: "The suppression list", about: "Ordered by phone.", replies: []reply{pageReply("A page of suppressions.", answerOf[suppressionOut]())}},
		{route: "POST /api/v1/suppressions", id: "addSuppression", tag: tagSuppressions, auth: clientKey, idem: true,
			summary: "Add a phone to the suppression list", body: jsonBody[suppressionIn]("phone"),
			replies: []reply{jsonReply(201, "Added.", answerOf[suppressionOut]()), jsonReply(200, "It was there already.", answerOf[suppressionOut]())},
			errs:    map[int][]string{409: {"conflict"}}},
		{route: "POST /api/v1/dlt-templates", id: "createDLTTemplate", tag: tagDLT, auth: clientKey, idem: true,
			summary: "Register a DLT template",
			about:   "`template_id` and `entity_id` are the DLT platform's ids (10 to 30 digits; 19 in practice), `sender` the header (3 to 11 letters and digits), `text` the approved wording with at most 30 `{#var#}` placeholders.",
			body:    jsonBody[dltTemplateIn]("template_id", "entity_id", "sender", "text"),
			replies: []reply{jsonReply(201, "The template.", answerOf[dltTemplateOut]())},
			errs:    map[int][]string{400: {"invalid_field", "missing_field"}, 409: {"dlt_template_exists", "conflict"}}},
		{route: "GET /api/v1/dlt-templates", id: "listDLTTemplates", tag: tagDLT, auth: clientKey, paged: true,
			summary: "List the DLT templates", about: "Newest first.", replies: []reply{pageReply("A page of DLT templates.", answerOf[dltTemplateOut]())}},
		{route: "GET /api/v1/dlt-templates/{id}", id: "getDLTTemplate", tag: tagDLT, auth: clientKey,
			summary: "Get a DLT template", replies: []reply{jsonReply(200, "The template.", answerOf[dltTemplateOut]())}},
		{route: "DELETE /api/v1/dlt-templates/{id}", id: "deleteDLTTemplate", tag: tagDLT, auth: clientKey,
			summary: "Remove a DLT template", about: "Messages sent under it keep its ids.", replies: []reply{noContent("Removed.")}},
		{route: "GET /api/v1/suppressions/{phone}", id: "getSuppression", tag: tagSuppressions, auth: clientKey,
			summary: "Whether a phone is suppressed", about: "404 when the phone may be sent to.",
			replies: []reply{jsonReply(200, "The suppression.", answerOf[suppressionOut]())}},
		{route: "DELETE /api/v1/suppressions/{phone}", id: "removeSuppression", tag: tagSuppressions, auth: clientKey,
			summary: "Remove a phone from the suppression list", replies: []reply{noContent("Removed.")}},

		{route: "GET /api/v1/webhook/deliveries", id: "listDeliveries", tag: tagDeliveries, auth: clientKey, paged: true, params: []param{statusQuery},
			summary: "The webhook delivery log", about: "Newest first.", replies: []reply{pageReply("A page of deliveries.", answerOf[deliveryOut]())}},
		{route: "GET /api/v1/webhook/deliveries/{id}", id: "getDelivery", tag: tagDeliveries, auth: clientKey,
			summary: "Get a delivery", replies: []reply{jsonReply(200, "The delivery, with its attempts and payload.", answerOf[deliveryOut]())}},
	}
}

func campaignMove(action, summary, about string, errs map[int][]string) operation {
	return operation{route: "POST /api/v1/campaigns/{id}/" + action, id: action + "Campaign", tag: tagCampaigns, auth: clientKey,
		summary: summary, about: about, replies: []reply{jsonReply(200, "The campaign.", answerOf[campaignOut]())}, errs: errs}
}

func twilioRoutes() []operation {
	root := "/" + twilioVersion + "/Accounts/"
	twMsg := answerOf[twilioMessage]()
	return []operation{
		{route: "GET " + root + "{account}", path: root + "{AccountSid}.json", id: "twilioFetchAccount", tag: tagTwilio, auth: twilioBasic,
			summary: "Fetch the account", replies: []reply{jsonReply(200, "The account.", fixed(twilioAccountSchema))}},
		{route: "GET " + root + "{account}/Balance.json", path: root + "{AccountSid}/Balance.json", id: "twilioFetchBalance", tag: tagTwilio, auth: twilioBasic,
			summary: "Fetch the balance", about: "The client's credits in price units.", replies: []reply{jsonReply(200, "The balance.", fixed(twilioBalanceSchema))}},
		{route: "POST " + root + "{account}/Messages.json", path: root + "{AccountSid}/Messages.json", id: "twilioCreateMessage", tag: tagTwilio, auth: twilioBasic,
			summary: "Create a message", about: "The same send as POST /api/v1/messages. Takes Idempotency-Key or I-Twilio-Idempotency-Token.",
			params: []param{{name: "I-Twilio-Idempotency-Token", in: "header", about: "Twilio's name of the Idempotency-Key.", sch: schema{"type": "string", "maxLength": maxIdempotencyKey}},
				idempotencyParam},
			body: formBody(twilioSendForm), replies: []reply{jsonReply(201, "The message.", twMsg)}, errs: twilioSendErrs},
		{route: "GET " + root + "{account}/Messages.json", path: root + "{AccountSid}/Messages.json", id: "twilioListMessages", tag: tagTwilio, auth: twilioBasic,
			params: []param{query("To", "Only messages to this number.", schema{"type": "string"}), query("From", "Only messages from this number.", schema{"type": "string"}),
				query("DateSent", "A day (YYYY-MM-DD) or an instant (RFC 3339).", schema{"type": "string"}),
				query("DateSent<", "On or before.", schema{"type": "string"}), query("DateSent>", "On or after.", schema{"type": "string"}),
				query("PageSize", "1 to 1000 (default 50).", schema{"type": "integer", "minimum": 1, "maximum": 1000}),
				query("Page", "The page number, from 0.", schema{"type": "integer", "minimum": 0}),
				query("PageToken", "From next_page_uri or previous_page_uri.", schema{"type": "string"})},
			summary: "List messages", about: "Newest first, with Twilio's paging.",
			replies: []reply{jsonReply(200, "A page of messages.", answerOf[twilioMessageList]())},
			errs:    map[int][]string{400: {"20400", "21211", "21212"}}},
		{route: "GET " + root + "{account}/Messages/{sid}", path: root + "{AccountSid}/Messages/{Sid}.json", id: "twilioFetchMessage", tag: tagTwilio, auth: twilioBasic,
			summary: "Fetch a message", replies: []reply{jsonReply(200, "The message.", twMsg)}},
		{route: "POST " + root + "{account}/Messages/{sid}", path: root + "{AccountSid}/Messages/{Sid}.json", id: "twilioUpdateMessage", tag: tagTwilio, auth: twilioBasic,
			summary: "Cancel a scheduled message, or redact a message", body: formBody(twilioUpdateForm),
			replies: []reply{jsonReply(200, "The message.", twMsg)},
			errs:    map[int][]string{400: {"20400", "30409"}, 409: {"20009"}, 415: {"20415"}}},
		{route: "DELETE " + root + "{account}/Messages/{sid}", path: root + "{AccountSid}/Messages/{Sid}.json", id: "twilioDeleteMessage", tag: tagTwilio, auth: twilioBasic,
			summary: "Delete a message", about: "Only once it is no longer on its way out.",
			replies: []reply{noContent("Deleted.")}, errs: map[int][]string{409: {"20009"}}},
		{route: "GET " + root + "{account}/Messages/{sid}/Media.json", path: root + "{AccountSid}/Messages/{Sid}/Media.json", id: "twilioListMedia", tag: tagTwilio, auth: twilioBasic,
			summary: "List a message's media", replies: []reply{jsonReply(200, "The media (one page).", answerOf[twilioMediaList]())}},
	}
}

func otherRoutes() []operation {
	hookErrs := map[int][]string{404: {"not_found"}, 500: {"internal_error"}, 503: {"unavailable"}}
	anyBody := &reqBody{required: true, about: "The provider's own request: JSON or a form, as its adapter reads it. " +
		"A generic entry reads JSON, a form (application/x-www-form-urlencoded) or a multipart form by Content-Type, " +
		"with the field names of its `fields` mapping (docs/providers.md).", content: []bodyContent{
		{typ: "application/json", sch: fixed(schema{})}, {typ: "application/x-www-form-urlencoded", sch: fixed(schema{"type": "object"})},
		{typ: "multipart/form-data", sch: fixed(schema{"type": "object"})}}}
	twiml := reply{status: 200, about: "TwiML for the provider.", typ: "text/xml", sch: fixed(schema{"type": "string"})}
	hook := func(route, id, summary, about string, replies ...reply) operation {
		return operation{route: route, id: id, tag: tagWebhooks, auth: providerWebhook, summary: summary, about: about,
			body: anyBody, replies: replies, errs: hookErrs}
	}
	accepted := jsonReply(200, "What was accepted: one message, or several in order; a provider that takes its own answer (Twilio: TwiML) gets it instead.",
		fixed(schema{"anyOf": []any{acceptedSchema, object(schema{"data": schema{"type": "array", "items": acceptedSchema}}, "data")}}))
	return []operation{
		hook("POST /webhooks/{provider}", "providerInbound", "A provider's inbound messages",
			"For the entries whose type takes inbound messages (extremesms, generic, twilio). The message is committed before the 200; routing and forwarding happen later.",
			accepted, reply{status: 200, about: "TwiML (Twilio), with an immediate auto-reply when there is one.", typ: "text/xml", sch: fixed(schema{"type": "string"})}),
		{route: "GET /webhooks/{provider}", id: "providerInboundByGET", tag: tagWebhooks, auth: providerWebhook,
			summary: "A provider's inbound message as a query string",
			about: "For generic entries with `allow_get`: the message's fields (named by the entry's `fields` mapping) are the query " +
				"parameters, as several aggregators' callback URLs send them. Answered as the POST is. Other entries answer 405.",
			replies: []reply{accepted}, errs: hookErrs},
		hook("POST /webhook/incoming-sms", "extremesmsInboundLegacy", "ExtremeSMS's inbound messages (the older URL)",
			"An alias of POST /webhooks/extremesms.", accepted),
		hook("POST /webhooks/{provider}/status", "providerStatus", "A provider's delivery reports",
			"For the entries whose type takes delivery reports. A report never moves a message backwards.",
			jsonReply(200, "How many reports were read.", fixed(object(schema{"received": schema{"type": "integer"}}, "received")))),
		hook("POST /webhooks/{provider}/voice", "providerCall", "An incoming call", "For the entries that take calls (twilio): the call is logged and answered with its number's voice answer.", twiml),
		hook("POST /webhooks/{provider}/voice/status", "providerCallStatus", "A call's status callback", "", twiml),
		hook("POST /webhooks/{provider}/voice/recording", "providerCallRecording", "A call's recording callback", "The voicemail is added to the call's message.", twiml),
		hook("POST /webhooks/{provider}/conversations", "providerConversations", "Conversations events",
			"The events of all the provider's threads on one URL (twilio): messages to a number Ibiki manages are accepted, others skipped.",
			jsonReply(200, "What Ibiki took from the event.", fixed(object(schema{
				"message":  schema{"anyOf": []any{acceptedSchema, schema{"type": "null"}}},
				"statuses": schema{"type": "integer"}, "skipped": str("Why the event was skipped (unmanaged_number).")}, "message", "statuses")))),

		{route: "GET /healthz", id: "health", tag: tagOperations, summary: "Liveness",
			replies: []reply{jsonReply(200, "The process answers.", fixed(object(schema{"status": enumOf("", "ok")}, "status")))}},
		{route: "GET /readyz", id: "ready", tag: tagOperations, summary: "Readiness", about: "Ready when the database answers within 2 seconds.",
			replies: []reply{jsonReply(200, "Ready.", fixed(object(schema{"status": enumOf("", "ready")}, "status"))),
				jsonReply(503, "The database is unreachable.", fixed(object(schema{"status": enumOf("", "database unreachable")}, "status")))}},
		{route: "GET /metrics", id: "metrics", tag: tagOperations, summary: "Prometheus metrics",
			replies: []reply{{status: 200, about: "The Prometheus text exposition format.", typ: "text/plain", sch: fixed(schema{"type": "string"})}}},

		{route: "GET /api/v1/openapi.json", id: "openapi", tag: tagReference, summary: "This document",
			about:   "The OpenAPI 3.1 description of the API, also kept as docs/openapi.json. No authentication.",
			replies: []reply{jsonReply(200, "The document.", fixed(schema{"type": "object"}))}},
		{route: "GET /docs/api", id: "referencePage", tag: tagReference, summary: "The API reference page",
			about:   "This document rendered as HTML, from assets embedded in the binary (nothing is loaded from elsewhere).",
			replies: []reply{{status: 200, about: "The page.", typ: "text/html", sch: fixed(schema{"type": "string"})}}},
		{route: "GET /docs/api/{asset}", id: "referencePageAsset", tag: tagReference, summary: "An asset of the reference page",
			replies: []reply{{status: 200, about: "The script or style sheet.", typ: "*/*", sch: fixed(schema{"type": "string"})},
				jsonReply(http.StatusNotFound, "No such asset: not_found.", fixed(object(schema{"error": ref("ErrorDetail")}, "error")))}},
	}
}

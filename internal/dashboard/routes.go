package dashboard

// registerOperator adds the operator console's pages.
func (d *Dashboard) registerOperator(handle func(string, handler)) {
	handle("GET /clients", d.listClients)
	handle("POST /clients", d.createClient)
	handle("GET /clients/{id}", d.clientDetail)
	handle("POST /clients/{id}", d.updateClient)
	handle("POST /clients/{id}/credits", d.topUp)
	handle("POST /clients/{id}/rotate-key", d.rotateClientKey)
	handle("POST /clients/{id}/users", d.inviteUser)
	handle("POST /clients/{id}/users/{user}/invite", d.reinviteUser)
	handle("POST /clients/{id}/users/{user}/active", d.setUserActive)
	handle("GET /setup", d.setup)
	handle("GET /setup/contacts.csv", d.exportAllContacts)
	handle("GET /simulator", d.simulatorPage)
	handle("POST /simulator", d.simulateInbound)
	handle("GET /audit", d.auditLog)
	handle("GET /numbers", d.listNumbers)
	handle("POST /numbers", d.addNumber)
	handle("POST /numbers/{number}", d.updateNumber)
	handle("POST /numbers/{number}/delete", d.deleteNumber)
	handle("GET /providers", d.listProviders)
	handle("GET /unrouted", d.listUnrouted)
	handle("POST /unrouted/{id}/assign", d.assignUnrouted)
	handle("GET /deliveries", d.listFailedDeliveries)
	handle("POST /deliveries/{id}/replay", d.replayDelivery)
}

// registerClient adds the client workspace's pages.
func (d *Dashboard) registerClient(handle func(string, handler)) {
	handle("GET /conversations", d.listConversations)
	handle("GET /conversations/{id}", d.conversation)
	handle("POST /conversations/{id}/reply", d.reply)
	handle("GET /estimate", d.estimateText)
	handle("GET /contacts", d.listContacts)
	handle("GET /contacts/export", d.exportContacts)
	handle("GET /contacts/import", d.importPage)
	handle("POST /contacts/import", d.uploadImport)
	handle("POST /contacts/import/{token}", d.runImport)
	handle("GET /campaigns", d.listCampaigns)
	handle("GET /campaigns/new", d.newCampaign)
	handle("POST /campaigns", d.createCampaign)
	handle("GET /campaigns/{id}", d.campaignPage)
	handle("POST /campaigns/{id}/{action}", d.campaignAction)
	handle("GET /settings/webhook", d.webhookSettings)
	handle("POST /settings/webhook", d.saveWebhook)
	handle("POST /settings/webhook/reveal", d.revealSecret)
	handle("POST /settings/webhook/rotate", d.rotateSecret)
	handle("POST /settings/webhook/test", d.testWebhook)
	handle("GET /settings/answers", d.answersSettings)
	handle("POST /settings/answers/auto-replies", d.saveAutoReply)
	handle("POST /settings/answers/auto-replies/{id}/delete", d.deleteAutoReply)
	handle("POST /settings/answers/voice", d.saveVoice)
	handle("GET /balance", d.balancePage)
	handle("GET /settings/api-key", d.apiKeyPage)
	handle("POST /settings/api-key", d.rotateAPIKey)
	handle("POST /settings/twilio-credentials", d.twilioCredentials)
}

// registerShared adds the pages both roles open, each showing what the viewer may see: a
// client its own, the operator everyone's.
func (d *Dashboard) registerShared(handle func(string, handler)) {
	handle("GET /services", d.listServices)
	handle("POST /services", d.createService)
	handle("GET /services/{id}", d.servicePage)
	handle("POST /services/{id}", d.updateService)
	handle("POST /services/{id}/active", d.setServiceActive)
	handle("POST /services/{id}/delete", d.deleteService)
	handle("GET /services/{id}/log", d.serviceLog)
}

// The Express peer of bench/run.sh: what a user writes instead of Switchboard, with the
// official helper library. It checks X-Twilio-Signature with twilio.webhook() (the helper's
// own validateRequest over the URL and the sorted parameters) and answers the incoming call
// with the same welcome menu Switchboard renders from its built-in JobMatch definition.
//   TWILIO_AUTH_TOKEN=... PORT=0 node bench/express/server.js   (prints "listening PORT")
"use strict";
const express = require("express");
const twilio = require("twilio");

const token = process.env.TWILIO_AUTH_TOKEN;
if (!token) {
  console.error("TWILIO_AUTH_TOKEN is required");
  process.exit(2);
}
const prompt =
  "Welcome to Job Match dot zip, the AI-powered job matching platform for LLC owners. Press 1 to learn " +
  "about our services. Press 2 to speak with our AI assistant. Press 3 to schedule a callback. Press 9 to end this call.";

const app = express();
app.use(express.urlencoded({ extended: false, limit: "64kb" }));
app.post("/api/voice/incoming", twilio.webhook(token, { protocol: "http" }), (req, res) => {
  const twiml = new twilio.twiml.VoiceResponse();
  const gather = twiml.gather({
    input: "dtmf",
    numDigits: 1,
    timeout: 10,
    action: "/api/voice/menu?menu=welcome",
    method: "POST",
  });
  gather.say({ voice: "Polly.Joanna" }, prompt);
  twiml.redirect({ method: "POST" }, "/api/voice/menu?menu=welcome&timeout=1");
  res.type("text/xml").send(twiml.toString());
});

const server = app.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
server.keepAliveTimeout = 60_000;

"use strict";
document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = document.getElementById("token").value;
  const response = await fetch("/api/operator/session", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({token}),
    credentials: "same-origin",
  });
  if (response.status === 204) {
    window.location.href = "/";
    return;
  }
  const error = document.getElementById("login-error");
  error.textContent = response.status === 429 ? "Too many attempts; wait a moment." : "Wrong token.";
  error.hidden = false;
});

// The admin dashboard: sign-in and sign-out; the parts of the page load from their own modules.
import { ApiError, SessionEnded, getJson, signIn, signOut, whenSessionEnds } from "./api.js";
import { loadAnalytics, setDefaultRange } from "./analytics.js";
import { loadProducts } from "./catalogue.js";
import { loadOrders } from "./orders.js";
import { $, guarded, notify } from "./ui.js";

function showSignIn(message = "") {
  $("dashboard").hidden = true;
  $("account").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message;
  $("password").value = "";
}

whenSessionEnds(() => showSignIn("Your session has ended; sign in again."));

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = event.submitter || event.target.querySelector("button");
  button.disabled = true;
  $("sign-in-error").textContent = "";
  try {
    await signIn($("email").value.trim(), $("password").value);
    const me = await getJson("/users/me");
    if (me.role !== "admin") {
      await signOut();
      showSignIn(`${me.email} is not an admin account. The dashboard is for shop admins only.`);
      return;
    }
    $("account-email").textContent = me.email;
    $("password").value = "";
    $("sign-in").hidden = true;
    $("account").hidden = false;
    $("dashboard").hidden = false;
  } catch (error) {
    if (error instanceof SessionEnded) return;
    const message = error instanceof ApiError && error.status === 401 ? "Wrong email or password." : error.message;
    showSignIn(message);
  } finally {
    button.disabled = false;
  }
  if (!$("dashboard").hidden) await guarded(loadEverything);
});

$("sign-out").addEventListener("click", async () => {
  await signOut();
  showSignIn("Signed out.");
});

async function loadEverything() {
  notify("");
  await Promise.all([loadProducts(true), loadOrders(true)]);
  await loadAnalytics();
}

setDefaultRange();

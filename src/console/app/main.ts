// The admin console in the browser: plain DOM, no framework. It talks to the same JSON API as any client.
// This entry wires the modules together in order; bundle.ts (a build-time macro) bundles it with its imports,
// and it is served as /console/app.js. Modules import only downward: nothing imports this file, and tabs.ts
// and api.ts reach the tab modules and the session only through what is handed to them here.
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="dom.asynciterable" />
import { setupAccountDialogs } from "./account-dialogs.ts";
import { setupAccountSessions } from "./account-sessions.ts";
import { accountsTab, loadAccounts, setupAccounts } from "./accounts.ts";
import { setupCsvExport } from "./accounts-csv.ts";
import { activityTab, setupActivity } from "./activity.ts";
import { setupConfirmation } from "./dialogs.ts";
import { clearInvalidOnInput } from "./forms.ts";
import { profileTab, refreshMySessions, setupMySessions } from "./my-sessions.ts";
import { enhancePasswordFields, setupOwnPassword } from "./passwords.ts";
import { resumeSession, setupSession } from "./session.ts";
import { defineTab, setupTabs } from "./tabs.ts";
import { setupToast } from "./toast.ts";

setupToast();
setupSession();
setupTabs();
defineTab("accounts", accountsTab);
defineTab("activity", activityTab);
defineTab("profile", profileTab);
setupAccounts();
setupCsvExport();
setupAccountDialogs(loadAccounts);
setupAccountSessions();
setupConfirmation();
setupActivity();
setupOwnPassword(refreshMySessions);
setupMySessions();
clearInvalidOnInput();
enhancePasswordFields();

void resumeSession();

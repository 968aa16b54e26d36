// `moxie users`: the accounts as a table or JSON, as stored. Only reads: the file is opened as it is.
import { listUsers, toPublicUser } from "../../accounts/lookup.ts";
import type { Db } from "../../db/index.ts";
import { bootstrap } from "../bootstrap.ts";
import { print, type Command } from "../command.ts";
import { printTable } from "../table.ts";

type Print = (line: string) => void;

export const usersCommand: Command = {
  usage: "moxie users [--json]",
  options: { json: { type: "boolean" } },
  async run(context) {
    const { db } = bootstrap(context, { create: false, readOnly: true });
    try {
      listUsersCommand(db, context.values.json === true, print);
    } finally {
      db.$client.close();
    }
  },
};

function listUsersCommand(db: Db, json: boolean, print: Print): void {
  const users = listUsers(db).users.map(toPublicUser);
  if (json) {
    print(JSON.stringify(users, null, 2));
    return;
  }
  printTable(
    ["ID", "EMAIL", "NAME", "ROLE", "ACTIVE"],
    users.map((u) => [String(u.id), u.email, u.name, u.role, u.is_active ? "yes" : "no"]),
    print,
  );
  print(`${users.length} account${users.length === 1 ? "" : "s"}`);
}

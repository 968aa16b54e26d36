// The shapes of accounts on the wire, as values; types derive from them and routes declare them.
import { t } from "elysia";
import { ROLES } from "../../db/vocabulary.ts";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, SIGN_IN_PASSWORD_MAX_LENGTH } from "../../passwords/hashing.ts";
import { documentedAs } from "../openapi.ts";
import { PAGE_LIMIT_MAX, pagingQuery } from "../paging.ts";
import { EMAIL_MAX_LENGTH, TYPED_EMAIL_PATTERN } from "../../emails/normalize.ts";
import { NAME_MAX_LENGTH, NAME_PATTERN } from "../../accounts/limits.ts";

// Not t.UnionEnum: it carries `default: <first value>`, which Elysia fills into an omitted optional
// field, so a create without a role would make an admin.
export const RoleModel = t.Union([t.Literal(ROLES[0]), t.Literal(ROLES[1])]);

/** What any response may say about a user; declared as `response`, it strips anything else (the hash). */
export const PublicUserModel = t.Object({
  id: t.Integer({ minimum: 1 }),
  name: t.String(),
  email: t.String(),
  role: RoleModel,
  is_active: t.Boolean(),
  created_at: t.String({ format: "date-time" }),
  /** The last successful sign-in, or null before the first. */
  last_login_at: t.Nullable(t.String({ format: "date-time" })),
});

/** A page of accounts; X-Total-Count has the number of matches. */
export const UserListModel = t.Array(PublicUserModel);

/** Surrounding blanks are allowed (they are trimmed before storing), so " A@x.co" is a duplicate, not a typo. */
export const EmailModel = t.String({
  maxLength: EMAIL_MAX_LENGTH,
  pattern: TYPED_EMAIL_PATTERN,
  error: "email must be a valid email address",
});
export const NameModel = t.String({
  minLength: 1,
  maxLength: NAME_MAX_LENGTH,
  pattern: NAME_PATTERN,
  error: `name must be 1 to ${NAME_MAX_LENGTH} characters, not all blank, without control characters`,
});
/**
 * A new password: 8-128 characters (code points, after NFC), as documented. TypeBox's lengths count UTF-16
 * units before NFC, so the schema only turns huge strings away; the exact rule is newPasswordProblem's, in the
 * service, which says the same sentence.
 */
export const NewPasswordModel = documentedAs(
  t.String({ maxLength: PASSWORD_MAX_LENGTH * 4, error: `password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters` }),
  { type: "string", minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH, description: "Counted after Unicode NFC normalization; not one of the 5 000 most common passwords." },
);
/** A password being checked (sign-in, the current one): 1-1024 characters, counted as for NewPasswordModel. */
export const PasswordToCheckModel = documentedAs(
  t.String({ minLength: 1, maxLength: SIGN_IN_PASSWORD_MAX_LENGTH * 4, error: `password must be 1 to ${SIGN_IN_PASSWORD_MAX_LENGTH} characters` }),
  { type: "string", minLength: 1, maxLength: SIGN_IN_PASSWORD_MAX_LENGTH },
);

/** Whether the account may sign in; `false` on a create or an edit is honoured, never dropped. */
const IsActiveModel = t.Boolean({
  error: "is_active must be true or false",
  description: "Whether the account can sign in. Left out: true on a create, unchanged on an edit.",
});

export const NewAccountModel = t.Object(
  {
    name: NameModel,
    email: EmailModel,
    password: NewPasswordModel,
    role: t.Optional(RoleModel),
    is_active: t.Optional(IsActiveModel),
  },
  { examples: [{ name: "Avery Agent", email: "avery@example.com", password: "a long passphrase", role: "agent", is_active: true }] },
);

/** Path ids: positive and safe; anything else is a 422 before the database is asked. */
export const UserIdParams = t.Object({
  // Plain decimal digits only: Elysia's numeric coercion would also take 0x1, 1e0, +1 and " 1".
  id: documentedAs(t.String({ pattern: "^[1-9][0-9]{0,15}$", error: "id must be a positive whole number" }), {
    type: "integer",
    minimum: 1,
    description: "The account's id.",
  }),
});

export const UserListQuery = t.Object({
  role: t.Optional(RoleModel),
  is_active: t.Optional(t.Boolean({ error: "is_active must be true or false", description: "Only active (true) or inactive (false) accounts." })),
  q: t.Optional(
    t.String({
      maxLength: 100,
      error: "q must be at most 100 characters",
      description:
        "Text found anywhere in the name or the email, ignoring case and accents in every script: `åsa` finds " +
        "Åsa Öberg, `SOFÍA` finds Sofía, `nguyen` finds Nguyễn, `strasse` finds Straße, `οδος` finds ΟΔΌΣ; ø, ł, đ " +
        "and the dotless ı match o, l, d and i. Compatibility forms are folded too (fullwidth letters, ligatures); " +
        "other letters (Hangul, CJK, æ, ð, þ) match only themselves, in either case. `%` and `_` are plain characters.",
    }),
  ),
  ...pagingQuery(PAGE_LIMIT_MAX),
});

/**
 * An edit takes the fields of the account a client reads and may change (name, email, role, is_active). A password
 * is refused with a 422 that names the route for it, rather than dropped: setting one signs the account out and has
 * answers of its own (409, 429, 403 for your own account). Read-only fields (id, created_at, last_login_at) and
 * anything unknown are ignored, as on a create: they are the server's.
 */
export const AccountChangesModel = t.Object(
  {
    name: t.Optional(NameModel),
    email: t.Optional(EmailModel),
    role: t.Optional(RoleModel),
    is_active: t.Optional(IsActiveModel),
    // Documented as the schema nothing meets: a generated client types it `never`.
    password: t.Optional(documentedAs(t.Never({ error: "password cannot be changed here: use PUT /admin/users/{id}/password" }), false)),
  },
  {
    minProperties: 1,
    error: "Give at least one of name, email, role, is_active",
    description:
      "The fields to change; those left out stay as they are. A password is refused (422): PUT " +
      "/admin/users/{id}/password sets it. id, created_at and last_login_at are the server's, and ignored.",
    examples: [{ name: "Avery Agent-Smith" }],
  },
);

export const SetPasswordModel = t.Object({ password: NewPasswordModel }, { examples: [{ password: "another long passphrase" }] });

// What an account's name may be, as the rules say it: the wire schemas (src/http/models) and the CLI check these.
export const NAME_MAX_LENGTH = 100;

/** Something visible, and no control characters: names end up in terminals (`moxie users`) and logs. */
export const NAME_PATTERN = "^[^\\u0000-\\u001f\\u007f]*\\S[^\\u0000-\\u001f\\u007f]*$";

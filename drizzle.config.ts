// drizzle-kit's settings: it generates drizzle/ from the schema; moxie applies those files itself.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./drizzle",
});

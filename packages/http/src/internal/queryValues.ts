/**
 * Schemas of single query values. Every query value arrives as text; each Schema says exactly what it accepts and
 * decodes it, with one clear message a 400 names the parameter with (never clamped, never guessed).
 */
import * as Schema from "effect/Schema"

/** An optional query parameter: absent stays absent (never `undefined` in the decoded value). */
export const optional = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })

/** A query value out of a fixed set, with one clear message instead of one per member. */
export const oneOf = <const L extends ReadonlyArray<string>>(values: L, description: string) =>
  Schema.String.pipe(
    Schema.filter((s): s is L[number] => values.includes(s), {
      message: () => `must be one of ${values.join(", ")}`,
      jsonSchema: { type: "string", enum: values, description },
      description
    })
  )

/** `true` or `false`. */
export const BooleanText = (description: string) =>
  Schema.transform(oneOf(["true", "false"], description), Schema.Boolean, {
    strict: true,
    decode: (s) => s === "true",
    encode: (b) => (b ? "true" : "false")
  }).annotations({ jsonSchema: { type: "boolean", description }, description })

/** A decimal integer in [min, max]; anything else is a 400, never clamped. */
export const IntegerText = (min: number, max: number, description: string) =>
  Schema.transform(
    Schema.String.pipe(
      Schema.filter((s) => /^[0-9]{1,10}$/.test(s) && Number(s) >= min && Number(s) <= max, {
        message: () => `must be an integer from ${min} to ${max}`
      })
    ),
    Schema.Number,
    { strict: true, decode: Number, encode: String }
  ).annotations({ jsonSchema: { type: "integer", minimum: min, maximum: max, description }, description })

/** A non-empty text of at most 500 characters. */
export const Text = (description: string) =>
  Schema.String.pipe(Schema.minLength(1, { message: () => "must not be empty" }), Schema.maxLength(500)).annotations({
    description
  })

import { assertEquals, assertRejects } from "../tests/assert.ts";
import { python } from "../tests/process.ts";
import { metadataField, readWheelMetadata, WheelMetadataError } from "./wheel_metadata.ts";

const METADATA =
  "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\nRequires-Python: >=3.9\n\nA description.\nRequires-Python: not this\n";

async function zip(
  dir: string,
  name: string,
  method: string,
  ...entries: string[]
): Promise<string> {
  const out = `${dir}/${name}`;
  const r = await python("make_zip.py", [out, method, ...entries]);
  assertEquals(r.code, 0, r.stderr);
  return out;
}

Deno.test("wheel metadata: read from deflated and stored wheels", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const method of ["DEFLATED", "STORED"]) {
      const path = await zip(
        dir,
        `foo-${method}.whl`,
        method,
        "foo.py=x = 1",
        `foo-1.0.dist-info/METADATA=${METADATA}`,
        "foo-1.0.dist-info/RECORD=",
      );
      const bytes = await readWheelMetadata(path);
      assertEquals(new TextDecoder().decode(bytes), METADATA);
      // the same from the wheel's bytes, also when they are a view into a larger buffer
      const whole = await Deno.readFile(path);
      const inside = new Uint8Array(whole.length + 7);
      inside.set(whole, 5);
      for (const source of [whole, inside.subarray(5, 5 + whole.length)]) {
        assertEquals(new TextDecoder().decode(await readWheelMetadata(source)), METADATA);
      }
      assertEquals(metadataField(bytes, "requires-python"), ">=3.9");
      assertEquals(metadataField(bytes, "Summary"), null);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("wheel metadata: a wheel of more than 65,535 files (ZIP64) is read", async () => {
  // its count is in the ZIP64 record: read from the classic one, it found no METADATA
  const dir = await Deno.makeTempDir();
  try {
    const path = await zip(
      dir,
      "many.whl",
      "DEFLATED",
      "*70000",
      `foo-1.0.dist-info/METADATA=${METADATA}`,
      "foo-1.0.dist-info/RECORD=",
    );
    assertEquals(new TextDecoder().decode(await readWheelMetadata(path)), METADATA);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("wheel metadata: malformed archives raise WheelMetadataError", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/text.whl`, "this is not a zip file at all");
    await assertRejects(
      () => readWheelMetadata(`${dir}/text.whl`),
      WheelMetadataError,
      "not a zip",
    );
    const none = await zip(dir, "none.whl", "DEFLATED", "foo.py=x");
    await assertRejects(() => readWheelMetadata(none), WheelMetadataError, "found 0");
    const two = await zip(
      dir,
      "two.whl",
      "DEFLATED",
      "a-1.dist-info/METADATA=x",
      "b-1.dist-info/METADATA=y",
    );
    await assertRejects(() => readWheelMetadata(two), WheelMetadataError, "found 2");
    const nested = await zip(dir, "nested.whl", "DEFLATED", "x/a-1.dist-info/METADATA=x");
    await assertRejects(() => readWheelMetadata(nested), WheelMetadataError, "found 0");
    // chop the local file data off, keep the directory: offsets now point nowhere sensible
    const good = await zip(
      dir,
      "good.whl",
      "DEFLATED",
      `foo-1.0.dist-info/METADATA=${METADATA.repeat(50)}`,
    );
    const bytes = await Deno.readFile(good);
    const cut = bytes.slice(0, 40);
    await Deno.writeFile(
      `${dir}/cut.whl`,
      new Uint8Array([...cut, ...bytes.slice(bytes.length - 200)]),
    );
    await assertRejects(() => readWheelMetadata(`${dir}/cut.whl`), WheelMetadataError);
    await Deno.writeFile(`${dir}/empty.whl`, new Uint8Array());
    await assertRejects(() => readWheelMetadata(`${dir}/empty.whl`), WheelMetadataError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

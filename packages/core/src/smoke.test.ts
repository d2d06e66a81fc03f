import { expect, it } from "vitest";
import { background, withCancel, Canceled } from "@tether/core";
import { childCount } from "@tether/core/testing";

it("withCancel() cancels the child and unlinks it from the parent", () => {
  const [parent, cancelParent] = withCancel(background());
  const [child, cancel] = withCancel(parent);
  expect(childCount(parent)).toBe(1);
  cancel();
  expect(child.err).toBe(Canceled);
  expect(childCount(parent)).toBe(0);
  cancelParent();
});

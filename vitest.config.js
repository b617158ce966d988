import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "jsdom",
    include: ["frontend/test/**/*.test.js"],
    restoreMocks: true,
  },
});

// A Pi extension for the end-to-end tests: the command /squash compacts the
// session at once (Pi's own /compact is not run by `pi -p`).
export default function (pi: any) {
  pi.registerCommand("squash", {
    description: "Compact the session now",
    handler: async (_args: string, ctx: any) => {
      await new Promise((resolve) => ctx.compact({ onComplete: resolve, onError: resolve }));
    },
  });
}

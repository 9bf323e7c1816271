// One preview comment per pull request, found by a hidden marker and edited in place, so a
// pull request with twenty pushes has one comment, not twenty.
const MARKER = '<!-- incident-tracker-preview -->';

async function upsertPreviewComment({ github, context, body }) {
  const issue_number = context.payload.pull_request.number;
  const { owner, repo } = context.repo;
  const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number, per_page: 100 });
  const mine = comments.find((c) => c.user?.type === 'Bot' && c.body?.includes(MARKER));
  const text = `${MARKER}\n${body}`;
  if (mine) {
    await github.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body: text });
  } else {
    await github.rest.issues.createComment({ owner, repo, issue_number, body: text });
  }
}

module.exports = { upsertPreviewComment, MARKER };

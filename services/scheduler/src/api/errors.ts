// The scheduler API's errors: the shared handler (@yixing/common/http) answers with each
// error's own status; NotFoundError is common's, re-exported for the routes.
export { NotFoundError } from '@yixing/common';
